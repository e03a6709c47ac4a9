"""The clause registry against the in-repo specification, docs/clauses.md: one check per clause, in the
specification's order, at its level, each with its rule, why it matters, its AWS source and how it is tested."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from conformance import docs, registry
from conformance.failures import Violation
from conformance.registry import REGISTRY, Clause, Level, Phase, check, clauses, with_needs

ROOT = Path(__file__).resolve().parents[2]
CLAUSES_MD = ROOT / "docs" / "clauses.md"
README = ROOT / "README.md"
EXAMPLES = ROOT / "docs" / "failure-examples.json"
_ROW = re.compile(r"^\|\s*\[((?:IMG|TRN|SRV|ENV)-\d+)\]\(#[\w-]+\)\s*\|\s*(\w+)\s*\|")
_HEADING = re.compile(r"^## ((?:IMG|TRN|SRV|ENV)-\d+)$", re.M)


def spec_clauses() -> list[tuple[str, Level]]:
    """(ID, level) of every row of docs/clauses.md's clause table, in the order it lists them."""
    assert CLAUSES_MD.is_file(), "docs/clauses.md is missing: run `python -m conformance.docs`"
    found = [(m.group(1), Level(m.group(2))) for m in map(_ROW.match, CLAUSES_MD.read_text().splitlines()) if m]
    assert found, f"no clause rows parsed from {CLAUSES_MD}"
    return found


def test_clauses_are_every_spec_clause_in_spec_order_at_the_spec_level() -> None:
    registered = [(c.id, c.level) for c in clauses()]
    assert registered == spec_clauses()
    assert _HEADING.findall(CLAUSES_MD.read_text()) == [c.id for c in clauses()], "one section per clause, in order"


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
    assert registry.missing_parts(clause) == [], f"{clause.id}: add a `Why:` and a `How:` paragraph to the docstring"
    assert inspect.isgeneratorfunction(clause.function), "a check yields its violations"
    assert clause.function.__module__.startswith("conformance.checks.")
    assert [c for c in REGISTRY.values() if c.function is clause.function] == [clause]


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
    clause = Clause("ENV-9", Level.INFO, "t", lambda ctx: None, "")
    assert clause.run(None) == []  # type: ignore[arg-type]
    assert clause.rule == "t", "without a docstring, the title is the rule"


def test_the_readme_table_and_docs_clauses_md_are_generated_from_the_registry() -> None:
    args = ["--check", "--readme", str(README), "--clauses", str(CLAUSES_MD), "--examples", str(EXAMPLES)]
    assert docs.main(args) == 0, "run `python -m conformance.docs`"
    table = docs.clause_table()
    for clause in clauses():
        link = f"[{clause.id}](docs/clauses.md#{clause.id.lower()})"
        assert f"| {link} | {clause.level.value} | {clause.title} |" in table


def test_docs_check_fails_when_either_file_is_stale(tmp_path: Path) -> None:
    readme, spec = tmp_path / "README.md", tmp_path / "clauses.md"
    readme.write_text(f"intro\n{docs.BEGIN}\nold table\n{docs.END}\nrest\n")
    args = ["--readme", str(readme), "--clauses", str(spec), "--examples", str(tmp_path / "none.json")]
    assert docs.main(["--check", *args]) == 1, "both stale"
    assert docs.main(args) == 0
    assert docs.main(["--check", *args]) == 0
    assert readme.read_text().startswith("intro\n")
    assert readme.read_text().endswith("rest\n")
    spec.write_text(spec.read_text().replace("**Why it matters.**", "**Why.**", 1))
    assert docs.main(["--check", *args]) == 1, "an edited docs/clauses.md is stale"


def test_every_clause_section_shows_its_parts_and_a_failure_when_one_is_recorded() -> None:
    text = CLAUSES_MD.read_text()
    examples = docs.load_examples(EXAMPLES)
    sections = dict(zip(_HEADING.findall(text), _HEADING.split(text)[2::2], strict=True))
    for clause in clauses():
        section = sections[clause.id]
        assert f"**{clause.level.value}**" in section
        assert f"**Rule.** {clause.rule}" in section
        assert f"**Why it matters.** {clause.why}" in section
        assert f"**AWS source.** <{clause.source}>" in section
        assert f"**How the harness tests it.** {clause.how}" in section
        if clause.id in examples:
            assert examples[clause.id]["failure"].splitlines()[0] in section
            assert examples[clause.id]["failure"].startswith(f"{clause.id} [{clause.level.value}]")


def test_a_clause_without_why_or_how_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "REGISTRY", {})

    def bare(ctx: object) -> list[Violation]:
        """A rule.

        A detail.

        How: somehow.
        """
        return []

    check("SRV-98", Level.MUST, "Bare", source="https://docs.aws.amazon.com/x")(bare)
    clause = registry.REGISTRY["SRV-98"]
    assert (clause.rule, clause.why, clause.how, clause.details) == ("A rule.", "", "somehow.", ["A detail."])
    assert registry.missing_parts(clause) == ["why"]
    assert registry.missing_parts(Clause("ENV-9", Level.INFO, "t", lambda ctx: None, "")) == [
        "why",
        "how",
        "source",
    ]


def test_every_need_is_a_registered_clause_and_the_graph_has_no_cycle() -> None:
    known = {c.id: c for c in clauses()}
    for clause in known.values():
        assert set(clause.needs) <= set(known), clause.id
        assert clause.id not in {c.id for c in with_needs(clause.needs)}, f"{clause.id} needs itself"


def test_a_clause_with_its_needs_is_what_a_narrow_run_certifies() -> None:
    assert [c.id for c in with_needs(["SRV-9"])] == ["IMG-1", "TRN-1", "SRV-1", "SRV-2", "SRV-3", "SRV-9"]
    assert [c.id for c in with_needs(["TRN-5"])] == ["IMG-1", "TRN-1", "TRN-4", "TRN-5"]
    assert [c.id for c in with_needs(["IMG-2"])] == ["IMG-2"]
    assert [c.id for c in with_needs(["SRV-16"])] == [
        "IMG-1", "TRN-1", "SRV-1", "SRV-2", "SRV-3", "SRV-4", "SRV-9", "SRV-16", "ENV-4"
    ]  # fmt: skip


def test_an_unknown_clause_cannot_be_selected() -> None:
    with pytest.raises(KeyError, match="no such clause: SRV-99"):
        with_needs(["SRV-99"])


def test_a_check_module_imports_no_other_check_module() -> None:
    """ARCHITECTURE.md: check modules import the contract, the helpers and the target Protocols, never one another
    (a helper two clauses share lives beside them, in invoking.py and the like)."""
    import ast

    import conformance.checks

    folder = Path(conformance.checks.__file__).parent
    crossing = []
    for module in sorted(folder.glob("*.py")):
        if module.name == "__init__.py":
            continue
        for node in ast.walk(ast.parse(module.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            crossing += [f"{module.name}: {name}" for name in names if name.startswith("conformance.checks")]
    assert crossing == []
