"""The one failure type a check raises, and how it renders.

A failure names its clause and level, then one block per violation (``Expected:`` / ``Actual:``
and evidence), then the container logs and a ``Reproduce with:`` block of plain ``docker`` and
``curl`` commands. Every check reports every violation it sees, so one failure may carry several.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field

BODY_LINES = 20
LOG_LINES = 50


@dataclass(frozen=True)
class Violation:
    """One way the image broke a clause: what was expected, what happened, and the evidence."""

    summary: str
    expected: str
    actual: str
    evidence: tuple[tuple[str, str], ...] = ()
    reproduce: tuple[str, ...] = ()

    def render(self) -> str:
        lines = [self.summary, "", f"    Expected: {self.expected}", f"    Actual:   {self.actual}"]
        for name, text in self.evidence:
            lines += ["", f"{name}:", indent(head(text, BODY_LINES))]
        return "\n".join(lines)


@dataclass(frozen=True)
class Section:
    """A named block of evidence shared by all violations of a check (container logs, mostly)."""

    title: str
    text: str


class CheckSkipped(Exception):
    """The check cannot run here (no data, capability not claimed); never a pass."""


class DependencyFailed(CheckSkipped):
    """The check needs what another clause certifies, and that failed: see that clause."""

    def __init__(self, clause_id: str, why: str) -> None:
        super().__init__(f"depends on {clause_id}, which failed here: {why}")
        self.clause_id = clause_id


class NotJudged(CheckSkipped):
    """The host was too busy to measure the clause fairly, twice (the second time with the other checks paused):
    neither a pass nor a failure, and no certification (the gate's "could not judge")."""


class HarnessError(Exception):
    """The harness could not do its job (engine unreachable, bad test-dir): a user error, not a verdict."""


@dataclass
class ConformanceFailure(AssertionError):
    """An image broke a clause. Raised once per check with every violation it saw."""

    clause_id: str
    level: str
    title: str
    violations: Sequence[Violation]
    sections: Sequence[Section] = field(default_factory=list)
    reproduce: Sequence[str] = field(default_factory=list)
    source: str = ""

    def __post_init__(self) -> None:
        super().__init__(self.headline)

    @property
    def headline(self) -> str:
        count = f" ({len(self.violations)} violations)" if len(self.violations) > 1 else ""
        return f"{self.clause_id} [{self.level}] {self.title}{count}"

    def __str__(self) -> str:
        return self.render()

    def render(self, *, with_sections: bool = True) -> str:
        parts = [self.headline]
        for number, violation in enumerate(self.violations, 1):
            prefix = f"{number}. " if len(self.violations) > 1 else ""
            parts += ["", prefix + violation.render()]
        if with_sections:
            for section in self.sections:
                parts += [
                    "",
                    f"---- {section.title} (last {LOG_LINES} lines) ----",
                    indent(tail(section.text, LOG_LINES)),
                ]
        commands = [*self.reproduce]
        for violation in self.violations:
            commands += [c for c in violation.reproduce if c not in commands]
        if commands:
            parts += ["", "Reproduce with:", *(indent(c) for c in commands)]
        if self.source:
            parts += ["", f"Contract: {self.source}"]
        return "\n".join(parts)


def head(text: str, lines: int) -> str:
    rows = text.splitlines()
    more = f"\n... ({len(rows) - lines} more lines)" if len(rows) > lines else ""
    return "\n".join(rows[:lines]) + more if rows else "(empty)"


def tail(text: str, lines: int) -> str:
    rows = text.splitlines()
    return "\n".join(rows[-lines:]) if rows else "(empty)"


def indent(text: str) -> str:
    return textwrap.indent(text, "    ", lambda _: True)


def shorten(data: bytes | str, limit: int = 300) -> str:
    """A printable excerpt of a body, with its length when cut."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return text if len(text) <= limit else f"{text[:limit]}... ({len(data)} bytes in all)"
