"""The ecosystem corpus (corpus.toml next to this file): reading it, and comparing a report with its pins.

Each [[image]] is built the way its ecosystem builds it (tests/ecosystem/<name>/Dockerfile, built as
smc-eco/<name>:latest by scripts/build-ecosystem-images.sh) and certified with its own test-dir
(tests/ecosystem/<name>/test-dir). The table pins, for every clause, the verdict a correct harness gives
under SageMaker's contract: pass, fail (a real defect of the image, with the reason), skip (with the
reason) or waived (a SHOULD the policy waives: the harness reports a warning). Where today's harness is
known to give another verdict, the pin says so (`today`, `today_reason`): tests/docker/test_ecosystem.py
then expects that verdict as a known failure of the harness, and fails once the harness is fixed, so that
the pin is updated.

Shared by tests/docker/test_ecosystem.py and tests/broken_images/catalogue.py (a catalogue entry built on a
corpus image inherits the image's pinned verdicts for every clause it does not break).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus.toml"
REPORT_VERDICT = {"pass": "pass", "fail": "fail", "skip": "skip", "waived": "warn"}
"""A pinned verdict as the JSON report spells it (a waived SHOULD is reported as a warning)."""


@dataclass(frozen=True)
class Pin:
    clause: str
    verdict: str
    reason: str = ""
    evidence: tuple[str, ...] = ()
    today: str | None = None
    today_reason: str = ""

    @property
    def expected(self) -> str:
        return REPORT_VERDICT[self.verdict]


@dataclass(frozen=True)
class Image:
    name: str
    title: str
    packages: Mapping[str, str]
    pins: Mapping[str, Pin]
    base: str | None = None
    options: tuple[str, ...] = ()
    build_seconds: int | None = None

    @property
    def image(self) -> str:
        return f"smc-eco/{self.name}:latest"

    @property
    def test_dir(self) -> str:
        return f"tests/ecosystem/{self.name}/test-dir"


def _pin(image: str, clause: str, raw: Any) -> Pin:
    if isinstance(raw, str):
        raw = {"verdict": raw}
    verdict = raw.get("verdict")
    if verdict not in REPORT_VERDICT:
        raise ValueError(f"{image} {clause}: verdict {verdict!r} is not one of {sorted(REPORT_VERDICT)}")
    if verdict != "pass" and not raw.get("reason"):
        raise ValueError(f"{image} {clause}: a {verdict} verdict needs a reason")
    today = raw.get("today")
    if today is not None and (
        (today not in REPORT_VERDICT.values() and today != "error") or not raw.get("today_reason")
    ):
        raise ValueError(f"{image} {clause}: `today` must be a report verdict, with a today_reason")
    return Pin(
        clause=clause, verdict=verdict, reason=raw.get("reason", ""), evidence=tuple(raw.get("evidence", ())),
        today=today, today_reason=raw.get("today_reason", ""),
    )  # fmt: skip


def load(path: Path = CORPUS) -> list[Image]:
    with path.open("rb") as f:
        raw_images = tomllib.load(f)["image"]
    images = []
    for raw in raw_images:
        pins = {clause: _pin(raw["name"], clause, value) for clause, value in raw.get("clauses", {}).items()}
        images.append(Image(
            name=raw["name"], title=raw["title"], packages=dict(raw.get("packages", {})), pins=pins,
            base=raw.get("base"), options=tuple(raw.get("options", ())), build_seconds=raw.get("build_seconds"),
        ))  # fmt: skip
    names = [i.name for i in images]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"{path}: duplicate names {duplicates}")
    return images


def by_image(reference: str) -> Image | None:
    return next((i for i in load() if i.image == reference), None)


def accepted_verdicts(reference: str) -> dict[str, set[str]]:
    """For a corpus image: each clause's verdicts that are this image's own (the pinned one, and today's)."""
    image = by_image(reference)
    if image is None:
        return {}
    return {c: {p.expected, *([p.today] if p.today else [])} for c, p in image.pins.items()}


@dataclass
class Comparison:
    mismatches: list[str] = field(default_factory=list)
    """Clauses whose verdict is neither the pinned one nor the known-wrong one of today's harness."""
    known_wrong: list[str] = field(default_factory=list)
    """Clauses where the harness still gives the known-wrong verdict (`today`)."""
    fixed: list[str] = field(default_factory=list)
    """Clauses pinned as known-wrong that the harness now judges right: the `today` keys can go."""


def compare(image: Image, report: Mapping[str, Any]) -> Comparison:
    clauses = {c["id"]: c for c in report.get("clauses", [])}
    result = Comparison()
    for clause_id in sorted(set(clauses) - set(image.pins)):
        result.mismatches.append(
            f"{clause_id}: not pinned in corpus.toml (the harness says {_said(clauses[clause_id])})"
        )
    for clause_id, pin in image.pins.items():
        clause = clauses.get(clause_id)
        if clause is None:
            result.mismatches.append(f"{clause_id}: pinned, but not in the report")
            continue
        verdict = clause["verdict"]
        if verdict == pin.expected:
            if pin.today:
                result.fixed.append(f"{clause_id}: now {verdict}, as pinned: remove its `today` ({pin.today_reason})")
            evidence = (clause.get("evidence") or "").lower()
            missing = [w for w in pin.evidence if w.lower() not in evidence]
            if verdict == "fail" and missing:
                result.mismatches.append(f"{clause_id}: fails, but its evidence does not mention {missing}")
        elif pin.today and verdict == pin.today:
            result.known_wrong.append(f"{clause_id}: {verdict} today, {pin.expected} when right: {pin.today_reason}")
        else:
            result.mismatches.append(f"{clause_id}: {_said(clause)}, pinned {pin.verdict}: {pin.reason or 'passes'}")
    return result


def _said(clause: Mapping[str, Any]) -> str:
    reason = clause.get("reason") or ""
    return f"{clause['verdict']}" + (f" ({reason.splitlines()[0][:200]})" if reason else "")
