"""Every check can fail: the harness against the broken-image catalogue (tests/broken_images).

Each catalogue image breaks one clause (docs/clauses.md); the harness must fail exactly that clause (plus the clauses
the defect makes fail with it, listed in the catalogue), say why in the evidence, and pass or justifiably
skip everything else. The reference images must give no failure at all.

Each test is one harness run in a subprocess (``python -m pytest --image=... --conformance-report=DIR``),
as a user would run it; every run labels its own containers, so ``pytest -n 2`` runs two images at once.
Build the images first: scripts/build-images.sh, then scripts/build-broken-images.sh.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "broken_images"))
import catalogue  # tests/broken_images/catalogue.py

pytestmark = pytest.mark.docker

ENTRIES = catalogue.load()
SLOW_FIRST = sorted(ENTRIES, key=lambda e: e.name != "trn7-sh-wrapper-no-exec")
"""The one run that waits out a 120 s SIGKILL goes first, so that xdist can spread the rest around it."""


def _failure_message(entry: catalogue.Entry, run: catalogue.Run, problems: list[str]) -> str:
    lines = [f"{entry.image} breaks {entry.clause} ({entry.description}); the harness run differs from the catalogue:"]
    lines += [f"  - {problem}" for problem in problems]
    own = run.clauses.get(entry.clause, {})
    if own.get("evidence"):
        lines += ["", f"{entry.clause} evidence (first 40 lines):", *own["evidence"].splitlines()[:40]]
    if run.report is None:
        lines += [
            "",
            f"no JSON report (exit code {run.returncode}); the end of the harness output:",
            run.output[-4000:],
        ]
    return "\n".join(lines)


@pytest.mark.parametrize("entry", SLOW_FIRST, ids=[e.name for e in SLOW_FIRST])
def test_broken_image_fails_its_clause(entry: catalogue.Entry, tmp_path: Path) -> None:
    unmet = catalogue.unmet_requirement(entry)
    if unmet:
        pytest.skip(f"{entry.name}: {unmet}")
    problem = catalogue.image_problem(entry)
    if problem:
        pytest.fail(problem, pytrace=False)
    run = catalogue.certify(entry.image, entry.test_dir, tmp_path, catalogue.options(entry))
    if run.report is None:
        pytest.fail(_failure_message(entry, run, ["the harness wrote no report"]), pytrace=False)
    judgement = catalogue.judge(entry, run.report)
    if not judgement.ok:
        pytest.fail(_failure_message(entry, run, judgement.unexpected), pytrace=False)


@pytest.mark.parametrize("reference", list(catalogue.REFERENCE_IMAGES), ids=lambda r: r.split("/")[-1].split(":")[0])
def test_reference_image_has_no_failures(reference: str, tmp_path: Path) -> None:
    if catalogue.layers(reference) is None:
        pytest.fail(f"{reference} is not built: run scripts/build-images.sh", pytrace=False)
    run = catalogue.certify(reference, catalogue.REFERENCE_IMAGES[reference], tmp_path)
    if run.report is None:
        pytest.fail(f"no JSON report (exit code {run.returncode}):\n{run.output[-4000:]}", pytrace=False)
    problems = catalogue.reference_problems(run.report)
    assert not problems, f"{reference} must give no failures:\n" + "\n".join(f"  - {p}" for p in problems)


def test_catalogue_covers_every_clause() -> None:
    """At least one broken image per clause of the harness's registry, and no entry for an unknown clause."""
    from conformance.registry import clauses

    known = [c.id for c in clauses()]
    covered = {e.clause for e in ENTRIES}
    assert sorted(set(known) - covered) == [], "clauses without a broken image"
    assert sorted(covered - set(known)) == [], "catalogue entries for clauses the harness does not have"
    for entry in ENTRIES:
        assert (catalogue.HERE / entry.name / "Dockerfile").is_file(), f"{entry.name}: no Dockerfile"
        assert (catalogue.ROOT / entry.test_dir).is_dir(), f"{entry.name}: no test-dir {entry.test_dir}"
        assert entry.clause not in entry.also_fails, f"{entry.name}: its own clause is in also_fails"
        assert set(entry.also_fails) <= set(known), f"{entry.name}: unknown clause in also_fails"
