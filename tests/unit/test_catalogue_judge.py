"""The catalogue's rule for skips (tests/broken_images/catalogue.py): a dependency that failed, or a conditional
clause whose capability the image does not claim."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "broken_images"))
import catalogue  # tests/broken_images/catalogue.py

ENTRY = catalogue.Entry("trn9-x", "TRN-9", "refuses extra config files", ("TRN-9",), {})


def report(*clauses: dict[str, str]) -> dict[str, object]:
    own = {"id": "TRN-9", "level": "MUST", "verdict": "fail", "evidence": "TRN-9 ..."}
    return {"clauses": [own, *clauses]}


def test_an_unclaimed_conditional_clause_may_skip() -> None:
    skipped = {"id": "TRN-12", "level": "CONDITIONAL", "verdict": "skip", "reason": "the policy does not declare it"}
    assert catalogue.judge(ENTRY, report(skipped)).ok


def test_a_must_clause_may_not_skip_without_a_failed_dependency() -> None:
    skipped = {"id": "TRN-10", "level": "MUST", "verdict": "skip", "reason": "training finished too soon"}
    judgement = catalogue.judge(ENTRY, report(skipped))
    assert judgement.unexpected == ["TRN-10: skipped without a genuine dependency (training finished too soon)"]


def test_a_conditional_clause_depending_on_a_clause_that_passed_is_unexpected() -> None:
    passed = {"id": "TRN-1", "level": "MUST", "verdict": "pass"}
    skipped = {
        "id": "TRN-11",
        "level": "CONDITIONAL",
        "verdict": "skip",
        "reason": "depends on TRN-1, which failed here",
        "depends_on": "TRN-1",
    }
    assert not catalogue.judge(ENTRY, report(passed, skipped)).ok


def test_a_skip_naming_a_failed_clause_of_the_report_is_a_genuine_dependency() -> None:
    failed = {"id": "TRN-4", "level": "MUST", "verdict": "fail", "evidence": "TRN-4 ..."}
    skipped = {"id": "TRN-5", "level": "SHOULD", "verdict": "skip", "reason": "...", "depends_on": "TRN-4"}
    entry = catalogue.Entry("trn9-x", "TRN-9", "refuses extra config files", ("TRN-9",), {"TRN-4": "the same"})
    assert catalogue.judge(entry, report(failed, skipped)).ok


def test_a_dependency_is_read_from_the_data_not_the_wording() -> None:
    failed = {"id": "TRN-4", "level": "MUST", "verdict": "fail", "evidence": "TRN-4 ..."}
    reworded = {"id": "TRN-5", "level": "SHOULD", "verdict": "skip", "reason": "depends on TRN-4, which failed here"}
    entry = catalogue.Entry("trn9-x", "TRN-9", "refuses extra config files", ("TRN-9",), {"TRN-4": "the same"})
    assert not catalogue.judge(entry, report(failed, reworded)).ok
