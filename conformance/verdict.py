"""A certification's verdict as an exit code, shared by the console script and scripts/gate.sh.

0: certified (every MUST and SHOULD clause passed, was skipped with a reason, or was a waived SHOULD);
1: certification failed (a MUST or SHOULD clause failed: a verdict on the image);
2: could not judge (a usage error, no engine, no image, no report, a check that crashed, or a clause the host was
   too busy to measure fairly: run it again on a quieter host).

``python -m conformance.verdict REPORT PYTEST_EXIT_CODE`` prints, tab-separated, one line of facts
(``REPORT``, the report's verdict, the image id, the exit code) and one line per failed, crashed and warned
clause (kind, ID, level, verdict, reason, the evidence's headline, its ``Actual:`` line); the gate reads them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CERTIFIED, FAILED, NOT_JUDGED = 0, 1, 2

_KINDS = {"fail": "FAILED", "error": "ERRORED", "warn": "WARNED"}


@dataclass(frozen=True)
class ClauseLine:
    """A clause that did not simply pass, as the summaries print it."""

    kind: str
    """FAILED (blocks), ERRORED (a check crashed: not judged), UNJUDGED (the host was too busy to measure it) or
    WARNED (does not block)."""
    id: str
    level: str
    verdict: str
    reason: str
    headline: str = ""
    actual: str = ""


@dataclass(frozen=True)
class Summary:
    verdict: str
    image_id: str
    clauses: list[ClauseLine] = field(default_factory=list)
    judged: int = 0
    """How many clauses the report holds (fewer than the registry's after --clause)."""

    def of_kind(self, kind: str) -> list[ClauseLine]:
        return [c for c in self.clauses if c.kind == kind]


def _flat(text: object, limit: int = 240) -> str:
    return " ".join(str(text or "").split())[:limit]


def summarize(document: Mapping[str, Any]) -> Summary:
    """The JSON report (conformance/report.schema.json) reduced to what a summary says."""
    lines = []
    for clause in document.get("clauses", []):
        kind = "UNJUDGED" if clause.get("not_judged") else _KINDS.get(clause.get("verdict"))
        if not kind:
            continue
        reason = str(clause.get("reason") or "")
        # The evidence's headline (the paragraph after the clause's own header) and its "Actual:" line.
        evidence = [line.strip() for line in str(clause.get("evidence") or "").splitlines()]
        body = [line for line in evidence[1:] if line]
        headline = body[0] if body else ""
        actual = next((line for line in body if line.startswith("Actual:")), "")
        if not reason or reason.startswith(f"{clause.get('id')} ["):
            reason = str(clause.get("title") or "")
        lines.append(
            ClauseLine(
                kind,
                str(clause.get("id")),
                str(clause.get("level", "?")),
                str(clause.get("verdict")),
                _flat(reason),
                _flat(headline if headline != reason else ""),
                _flat(actual),
            )
        )
    image_id = str((document.get("image") or {}).get("id", "?"))
    return Summary(str(document.get("verdict", "?")), image_id, lines, len(document.get("clauses", [])))


def read(path: Path) -> Summary | None:
    """The report's summary; None when there is no readable report."""
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return summarize(document) if isinstance(document, dict) else None


def exit_code(pytest_exit_code: int, summary: Summary | None) -> int:
    """The gate's rule: 0 certified, 1 failed, 2 could not judge.

    pytest exits 0 when every test passed or was skipped, 1 when some failed, and 2 to 5 when it was
    interrupted, crashed, was misused or collected nothing: no verdict on the image then, whatever a report says.
    """
    if summary is None or pytest_exit_code > 1 or pytest_exit_code < 0:
        return NOT_JUDGED
    if summary.verdict == "passed" and pytest_exit_code == 0:
        return CERTIFIED
    if (summary.of_kind("ERRORED") or summary.of_kind("UNJUDGED")) and not summary.of_kind("FAILED"):
        return NOT_JUDGED
    return FAILED


def tsv(summary: Summary, code: int) -> list[str]:
    lines = ["\t".join(["REPORT", summary.verdict, summary.image_id, str(code)])]
    for c in summary.clauses:
        lines.append("\t".join([c.kind, c.id, c.level, c.verdict, c.reason, c.headline, c.actual]))
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2 or not args[1].lstrip("-").isdigit():
        sys.stderr.write("usage: python -m conformance.verdict REPORT PYTEST_EXIT_CODE\n")
        return 2
    summary = read(Path(args[0]))
    if summary is None:
        sys.stderr.write(f"cannot read the report {args[0]}\n")
        return 2
    sys.stdout.write("\n".join(tsv(summary, exit_code(int(args[1]), summary))) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
