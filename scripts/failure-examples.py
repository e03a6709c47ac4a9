#!/usr/bin/env python3
"""Extract one real failure per clause from the broken-image catalogue's reports into docs/failure-examples.json.

    python scripts/failure-examples.py                  # from the reports tests/docker/test_catalogue.py saved
    python scripts/failure-examples.py --run            # certify one broken image per clause first (-j 2)
    python scripts/failure-examples.py --run --only SRV-9 ENV-3
    python scripts/failure-examples.py --run && python -m conformance.docs    # then regenerate docs/clauses.md

Reads reports/catalogue/<image>.json (written by every run of tests/docker/test_catalogue.py, or by --run). For
each clause of the registry it takes the first catalogue entry breaking that clause whose saved report the
catalogue judges as expected (tests/broken_images/catalogue.py), else one whose own clause failed, and keeps
that clause's rendered failure, with machine-specific parts replaced: the run's staging folder becomes
`<stage>`, a random host port `PORT`; each container-log section keeps its last lines, and a very long
rendering its beginning and end. Clauses with no such report keep the entry the file already has, so a
partial run never loses one. docs/clauses.md (`python -m conformance.docs`) shows them.

Exit code: 0 when every clause has a failure in the file; 1 when some have none (they are named).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "broken_images"))
sys.path.insert(0, str(ROOT))

import catalogue  # noqa: E402  (tests/broken_images/catalogue.py, after the sys.path lines)

OUTPUT = ROOT / "docs" / "failure-examples.json"
LOG_LINES = 12
"""Lines kept of each container-log section: enough to see the failure, short enough to read."""
MAX_LINES = 100
"""A rendering longer than this (many violations) keeps its beginning and its end (reproduce, contract)."""
TAIL_LINES = 12

_STAGE = re.compile(r"/[^\s:'\"]*/conformance\d+/")
_HOST_PORT = re.compile(r"\b((?:\d{1,3}\.){3}\d{1,3}):(?!8080\b)\d{4,5}\b")
_LOG_HEADER = re.compile(r"^---- .* logs .*----$")


def sanitize(text: str) -> str:
    """The rendering without what only held on the machine that made it (paths, ports), logs cut short."""
    text = _HOST_PORT.sub(r"\1:PORT", _STAGE.sub("<stage>/", text))
    out: list[str] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        out.append(line)
        index += 1
        if not _LOG_HEADER.match(line):
            continue
        section = []
        while index < len(lines) and lines[index].startswith("    "):
            section.append(lines[index])
            index += 1
        if len(section) > LOG_LINES:
            out.append(f"    ... ({len(section) - LOG_LINES} earlier lines)")
        out.extend(section[-LOG_LINES:])
    if len(out) > MAX_LINES:
        cut = len(out) - MAX_LINES
        out = [*out[: MAX_LINES - TAIL_LINES], f"... ({cut} more lines in the full report)", *out[-TAIL_LINES:]]
    return "\n".join(out).rstrip() + "\n"


def pick(entries: list[catalogue.Entry], clause: str) -> tuple[catalogue.Entry, dict[str, Any]] | None:
    """The first entry breaking ``clause`` whose saved report the catalogue judges as expected; failing that, the
    first whose own clause failed (another clause's deviation, such as a skip under load, does not change it)."""
    candidates = []
    for entry in entries:
        report = catalogue.saved_report(entry.image) if entry.clause == clause else None
        own = next((c for c in (report or {}).get("clauses", []) if c["id"] == clause), None)
        if report is not None and own is not None and own.get("verdict") == "fail" and own.get("evidence"):
            candidates.append((not catalogue.judge(entry, report).ok, entry, own))
    if not candidates:
        return None
    _, entry, own = min(candidates, key=lambda c: c[0])  # stable: catalogue order among equals
    return entry, own


def run(entries: list[catalogue.Entry], wanted: list[str], jobs: int) -> None:
    """Certify one broken image per wanted clause (its first runnable entry); reports land in reports/catalogue."""
    work = []
    for clause in wanted:
        for entry in entries:
            if entry.clause == clause and not (catalogue.unmet_requirement(entry) or catalogue.image_problem(entry)):
                work.append(entry)
                break
        else:
            print(f"  {clause}: no runnable broken image (unmet requirement, or not built)", file=sys.stderr)

    def one(entry: catalogue.Entry) -> None:
        with tempfile.TemporaryDirectory(prefix="failure-examples-") as workdir:
            done = catalogue.certify(entry.image, entry.test_dir, Path(workdir), catalogue.BROKEN_OPTIONS)
        print(f"  certified {entry.image} in {done.seconds:.0f} s", file=sys.stderr, flush=True)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, work))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", action="store_true", help="certify one broken image per clause first")
    parser.add_argument("--jobs", "-j", type=int, default=2, help="harness runs at once with --run (default 2)")
    parser.add_argument("--only", nargs="*", metavar="CLAUSE", help="only these clauses")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()

    from conformance.registry import clauses

    registry = [c.id for c in clauses()]
    wanted = [c for c in registry if not args.only or c in args.only]
    entries = catalogue.load()
    if args.run:
        run(entries, wanted, args.jobs)

    previous = json.loads(args.output.read_text()).get("clauses", {}) if args.output.is_file() else {}
    examples: dict[str, Any] = {}
    for clause in registry:
        found = pick(entries, clause) if clause in wanted else None
        if found is None:
            if clause in previous:
                examples[clause] = previous[clause]
            continue
        entry, own = found
        examples[clause] = {
            "entry": entry.name,
            "image": entry.image,
            "description": entry.description,
            "verdict": own["verdict"],
            "failure": sanitize(own["evidence"]),
        }
    document = {
        "about": "One rendered failure per clause, from the broken-image catalogue's reports "
        "(scripts/failure-examples.py); docs/clauses.md shows them.",
        "clauses": examples,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    missing = [c for c in registry if c not in examples]
    gaps = f"; none yet for {', '.join(missing)}" if missing else ""
    print(f"{args.output}: {len(examples)} of {len(registry)} clauses{gaps}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
