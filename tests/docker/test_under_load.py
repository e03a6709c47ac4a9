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

Cost: about 4 minutes on 2 CPUs (every run is at once, so the longest one, the reference image's, sets it).
Build the images first: scripts/build-images.sh, scripts/build-broken-images.sh, tests/good_images/build.sh.
"""

from __future__ import annotations

import concurrent.futures
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "broken_images"))
import catalogue  # tests/broken_images/catalogue.py

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


@pytest.fixture
def busy() -> Iterator[None]:
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
