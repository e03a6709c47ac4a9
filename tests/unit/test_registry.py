"""The clause registry against SPEC.md: one check per clause, in SPEC order, at the SPEC's level."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from conformance import docs, registry
from conformance.failures import Violation
from conformance.registry import REGISTRY, Clause, Level, Phase, check, clauses

ROOT = Path(__file__).resolve().parents[2]
SPEC_CANDIDATES = (ROOT / "SPEC.md", ROOT.parent / "shared" / "SPEC.md", Path("/work/shared/SPEC.md"))
_ROW = re.compile(r"^\|\s*((?:IMG|TRN|SRV|ENV)-\d+)\s*\|(.*)\|\s*$")


def spec_clauses() -> list[tuple[str, Level]]:
    """(ID, level) of every row of SPEC.md's clause tables, in the order SPEC.md lists them.

    The level cell's first word is the level: "MUST for the declared variable" is MUST, and ENV-4's
    "MUST / CONDITIONAL" is MUST (its batch transform part is always checked).
    """
    spec = next((p for p in SPEC_CANDIDATES if p.is_file()), None)
    if spec is None:
        pytest.skip(f"SPEC.md not found in {[str(p) for p in SPEC_CANDIDATES]}")
    found = []
    for line in spec.read_text().splitlines():
        match = _ROW.match(line)
        if match:
            cells = [c.strip() for c in match.group(2).split("|")]
            level = cells[1].split()[0].strip("*")
            found.append((match.group(1), Level(level)))
    assert found, f"no clause rows parsed from {spec}"
    return found


def test_clauses_are_every_spec_clause_in_spec_order_at_the_spec_level() -> None:
    registered = [(c.id, c.level) for c in clauses()]
    assert registered == spec_clauses()


def test_environment_levels() -> None:
    levels = {c.id: c.level for c in clauses()}
    assert levels["ENV-1"] is Level.MUST
    assert levels["ENV-2"] is Level.SHOULD
    assert levels["ENV-3"] is Level.MUST
    assert levels["ENV-4"] is Level.MUST
    assert levels["ENV-5"] is Level.CONDITIONAL


def test_clauses_are_sorted_by_phase_then_number_not_text() -> None:
    ids = [c.id for c in clauses()]
    assert ids.index("SRV-2") < ids.index("SRV-10") < ids.index("SRV-15") < ids.index("ENV-1")
    assert [c.phase for c in clauses()] == sorted((c.phase for c in clauses()), key=list(Phase).index)


@pytest.mark.parametrize("clause", list(clauses()), ids=lambda c: c.id)
def test_every_check_is_documented_and_registered_once(clause: Clause) -> None:
    doc = inspect.getdoc(clause.function)
    assert doc, f"{clause.id}: {clause.function.__name__} has no docstring"
    assert clause.rule
    assert "\n" not in clause.rule
    assert clause.title
    assert clause.source.startswith("https://docs.aws.amazon.com/"), clause.source
    assert inspect.isgeneratorfunction(clause.function), "a check yields its violations"
    assert clause.function.__module__.startswith("conformance.checks.")
    assert [c for c in REGISTRY.values() if c.function is clause.function] == [clause]


def test_phase_decides_the_profiles() -> None:
    for clause in clauses():
        assert clause.training_profile == (clause.phase is Phase.TRAINING)
        assert clause.serving_profile == (clause.phase in (Phase.SERVING, Phase.ENVIRONMENT))


def test_a_second_check_for_a_clause_is_refused() -> None:
    list(clauses())
    before = dict(REGISTRY)

    def another(ctx: object) -> list[Violation]:
        """Another rule."""
        return []

    with pytest.raises(ValueError, match="a check for IMG-1 is already registered: train_and_serve_resolve"):
        check("IMG-1", Level.MUST, "again")(another)
    assert before == REGISTRY


@pytest.mark.parametrize(
    "bad", ["IMG1", "img-1", "IMG-", "IMG-x", "FOO-1", "IMG-1a", " IMG-1", "IMG-1 ", "IMG-1\n", ""]
)
def test_bad_clause_ids_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="is not of the form IMG-1, TRN-2, SRV-3 or ENV-4"):
        check(bad, Level.MUST, "title")


def test_registering_a_new_clause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "REGISTRY", {})

    def extra(ctx: object) -> list[Violation]:
        """An extra rule.

        Its details.
        """
        return [Violation("broke", expected="a", actual="b")]

    assert check("SRV-99", Level.INFO, "Extra", source="https://example.com")(extra) is extra
    clause = registry.REGISTRY["SRV-99"]
    assert (clause.phase, clause.number, clause.rule, clause.source) == (
        Phase.SERVING,
        99,
        "An extra rule.",
        "https://example.com",
    )
    assert clause.run(None) == [Violation("broke", expected="a", actual="b")]  # type: ignore[arg-type]


def test_a_check_may_return_none() -> None:
    clause = Clause("ENV-9", Level.INFO, "t", lambda ctx: None, "", True, False)
    assert clause.run(None) == []  # type: ignore[arg-type]
    assert clause.rule == "t", "without a docstring, the title is the rule"


def test_the_readme_clause_table_is_generated_from_the_registry() -> None:
    readme = ROOT / "README.md"
    if not readme.is_file() or docs.BEGIN not in readme.read_text():
        pytest.skip("README.md has no generated clause table yet")
    assert docs.main(["--check", "--readme", str(readme)]) == 0, "run `python -m conformance.docs`"
    table = docs.clause_table()
    for clause in clauses():
        assert f"| {clause.id} | {clause.level.value} | `{clause.function.__name__}` |" in table
