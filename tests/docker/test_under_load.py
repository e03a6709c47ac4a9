"""Timing verdicts on a busy host (issue 23): certifications side by side with CPU burners give the verdicts of alone.

One test, one busy machine: two CPU-bound processes (``python -c "while 1: pass"``) run for its whole length while
the decision-tree reference image is certified in full, the gunicorn-sync good image (sync workers, no nginx: the
image whose SRV-13 failed beside two other certifications) on the clauses that judge a duration, and the
timing-defect broken images on their clauses (``--clause``), all at once. The correct images must give the verdicts
they give alone (no failure; each timing clause passes, or is not judged, naming the load), and no timing defect may
pass. Every timing defect must still fail, with its evidence, as alone: a `sleep(3)` in /ping, a shell PID 1 that
never passes SIGTERM on, a timeout that is not enforced, and SRV-13's /ping queued behind invocations that parse
512 KB bodies, work a busy host slows: SRV-13 times each ping after a slow one with the waits of its own interval,
and the model's sleep the ping queued behind is the image's own time (over the whole window, the waits of every
invocation explained the slow ping: at a load average of 14, srv13-sync-workers-slow-model's 2.22 s ping came with
1.69 s, and the clause went unjudged).

A second test does the same for the other correct images: CatBoost, the text generator and the correct corpus images
(tests/ecosystem), each on the clauses that judge a duration, all at once beside the burners: each gets its verdicts
of alone (a pinned failure of a corpus image still fails), or "not judged" for a pinned pass.

Cost: each test a minute or two on 2 CPUs (every run is at once, so the longest one sets it).
Build the images first: scripts/build-images.sh, scripts/build-broken-images.sh, tests/good_images/build.sh.
"""

from __future__ import annotations

import concurrent.futures
import fcntl
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "broken_images"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ecosystem"))
import catalogue  # tests/broken_images/catalogue.py
import corpus  # tests/ecosystem/corpus.py

pytestmark = pytest.mark.docker

BURNERS = 2
"""CPU-bound processes beside the certifications: as many as the CI runner has CPUs."""
TIMING = ("TRN-7", "SRV-2", "SRV-11", "SRV-12", "SRV-13", "ENV-3")
"""The clauses that judge a duration."""
DEFECTS = (
    "srv2-ping-3s",
    "srv11-sh-wrapper-no-exec",
    "env3-timeout-variable-ignored",
    "env3-timeout-not-enforced",
    "srv13-sync-workers-slow-model",
    "srv13-invocations-2-5s-block-ping",
)
"""The catalogue's timing defects (trn7-sh-wrapper-no-exec waits out a 120 s SIGKILL: the catalogue runs it)."""
NOT_JUDGED = "not judged, the host was too busy to time it fairly"
START = "--startup-timeout=60"
"""The harness's default start-up budget, not the catalogue's 20 s for broken images: under this load a server can
take longer than 20 s to answer /ping, and each start-up that runs out of its budget while waiting for a CPU is started
again in quiet (SRV-2), which would pause every other certification here for its length."""
REFERENCE = "sagemaker-conformance/decision_trees:latest"
GOOD = "smc-good/gunicorn-sync:latest"
ALONE_MAY_SKIP = {"ENV-3"}
"""gunicorn's sync workers beat once per half timeout when idle, so its cut of a frozen request can come up to T/2
early by the freeze's clock: ENV-3 skips it as "replaced before T could act" on a quiet machine too, by chance."""


BUSY_LOCK = Path(tempfile.gettempdir()) / "sagemaker-conformance-under-load.lock"
"""One busy machine at a time: under pytest-xdist the two tests here would otherwise run at once, on a machine four
burners and fifteen certifications deep, which is not the load either test states."""


@pytest.fixture
def busy() -> Iterator[None]:
    with BUSY_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        burners = [subprocess.Popen([sys.executable, "-c", "while 1: pass"]) for _ in range(BURNERS)]
        try:
            yield
        finally:
            for burner in burners:
                burner.kill()
                burner.wait()


def test_timing_verdicts_hold_on_a_busy_machine(busy: None, tmp_path: Path) -> None:
    entries = {e.name: e for e in catalogue.load()}
    defects = [entries[name] for name in DEFECTS]
    missing = [p for p in (catalogue.image_problem(e) for e in defects) if p]
    missing += [f"{r} is not built" for r in (REFERENCE, GOOD) if catalogue.layers(r) is None]
    if missing:
        pytest.fail("; ".join(missing), pytrace=False)
    good_options = tuple(f"--clause={clause}" for clause in TIMING)
    for name in ("ref", "good", *DEFECTS):
        (tmp_path / name).mkdir()
    with concurrent.futures.ThreadPoolExecutor(2 + len(defects)) as pool:
        reference = pool.submit(catalogue.certify, REFERENCE, catalogue.REFERENCE_IMAGES[REFERENCE], tmp_path / "ref")
        good = pool.submit(catalogue.certify, GOOD, catalogue.DEFAULT_TEST_DIR, tmp_path / "good", good_options)
        broken = {
            e.name: pool.submit(
                catalogue.certify, e.image, e.test_dir, tmp_path / e.name, (*catalogue.options(e), START)
            )
            for e in defects
        }
    problems = []
    run = reference.result()
    if run.report is None:
        problems.append(f"{REFERENCE}: no report (exit code {run.returncode}): {run.output[-2000:]}")
    problems += [f"{REFERENCE}: {p}" for p in catalogue.reference_problems(run.report or {})]
    problems += _timing_problems(run, set())
    run = good.result()
    problems += _timing_problems(run, ALONE_MAY_SKIP)
    for name, future in broken.items():
        run = future.result()
        if run.report is None:
            problems.append(f"{name}: no report (exit code {run.returncode}): {run.output[-2000:]}")
        judgement = catalogue.judge(entries[name], run.report or {})
        problems += [f"{name}: {problem}" for problem in judgement.unexpected]
    assert not problems, "verdicts under load differ from alone:\n" + "\n".join(f"  - {p}" for p in problems)


def _timing_problems(run: catalogue.Run, may_skip: set[str]) -> list[str]:
    """The timing clauses of a correct image that did not pass (the verdict alone) and were not left unjudged by the
    load, with their reasons."""
    problems = []
    for clause in TIMING:
        verdict = run.clauses.get(clause, {}).get("verdict", "missing")
        reason = run.clauses.get(clause, {}).get("reason", "")
        if verdict == "skip" and reason.startswith(NOT_JUDGED):
            continue
        if verdict != "pass" and not (clause in may_skip and verdict == "skip"):
            problems.append(f"{run.reference}: {clause} {verdict} ({run.clauses.get(clause, {}).get('reason', '')})")
    return problems


OTHER_REFERENCES = ("sagemaker-conformance/catboost:latest", "sagemaker-conformance/text_generation:latest")
"""The reference images the first test does not certify (it certifies the decision tree in full)."""
SLOW_WITHOUT_LOAD = {
    "training-toolkit": "its one timing clause, TRN-7, fails as PID 1 never takes SIGTERM (no load enters that), "
    "after a 120 s SIGKILL"
}
"""Corpus images left out here, with why: what they would cost is a wait no load changes."""


def test_correct_images_keep_their_timing_verdicts_on_a_busy_machine(busy: None, tmp_path: Path) -> None:
    """The other reference images and the correct corpus images (tests/ecosystem), each certified on the clauses that
    judge a duration (and what they need), all at once beside the two CPU burners: each timing clause gets the verdict
    pinned alone (the reference images: pass; the corpus: corpus.toml), or, for a pinned pass, "not judged" naming
    the load; a pinned failure (MMS's /ping healthy without a model, MLflow's nginx cutting at 60 s) still fails."""
    images = [i for i in corpus.load() if i.name not in SLOW_WITHOUT_LOAD]
    missing = [
        f"{r} is not built" for r in (*OTHER_REFERENCES, *(i.image for i in images)) if catalogue.layers(r) is None
    ]
    if missing:
        pytest.fail("; ".join(missing), pytrace=False)
    timing = tuple(f"--clause={clause}" for clause in TIMING)
    runs = {}
    with concurrent.futures.ThreadPoolExecutor(len(OTHER_REFERENCES) + len(images)) as pool:
        for reference in OTHER_REFERENCES:
            stage = tmp_path / reference.split("/")[-1].split(":")[0]
            stage.mkdir()
            runs[reference] = pool.submit(
                catalogue.certify, reference, catalogue.REFERENCE_IMAGES[reference], stage, timing
            )
        for image in images:
            stage = tmp_path / image.name
            stage.mkdir()
            runs[image.image] = pool.submit(
                catalogue.certify, image.image, image.test_dir, stage, (*image.options, *timing)
            )
    problems = []
    for reference in OTHER_REFERENCES:
        problems += _timing_problems(runs[reference].result(), set())
    for image in images:
        run = runs[image.image].result()
        if run.report is None:
            problems.append(f"{image.image}: no report (exit code {run.returncode}): {run.output[-2000:]}")
            continue
        accepted = corpus.accepted_verdicts(image.image)
        for clause in TIMING:
            said = run.clauses.get(clause, {})
            verdict, reason = said.get("verdict", "missing"), said.get("reason", "")
            unjudged_pass = (
                verdict == "skip" and reason.startswith(NOT_JUDGED) and "pass" in accepted.get(clause, set())
            )
            if verdict not in accepted.get(clause, set()) and not unjudged_pass:
                problems.append(
                    f"{image.image}: {clause} {verdict} ({reason[:300]}), pinned {sorted(accepted.get(clause, set()))}"
                )
    assert not problems, "timing verdicts under load differ from alone:\n" + "\n".join(f"  - {p}" for p in problems)
