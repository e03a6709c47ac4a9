#!/usr/bin/env python3
"""Print the broken-image catalogue as a Markdown table, with the harness's verdicts and the detection rate.

    python scripts/catalogue-table.py            # from the reports tests/docker/test_catalogue.py saved
    python scripts/catalogue-table.py --run      # certify every catalogue and reference image first
    python scripts/catalogue-table.py --run --jobs 2 --only srv1-loopback-only

Reads reports/catalogue/<image>.json (written by every run of tests/docker/test_catalogue.py, or by --run),
judges each with the same rule as the test (tests/broken_images/catalogue.py), and prints one row per image:
the clause it breaks, what it does, the harness's verdict on that clause, and anything unexpected (a clause
that failed although the catalogue does not list it, a skip without a genuine dependency, missing evidence).
Then the detection rate: how many of the harness's clauses are caught by their own check, and how many
failures the reference images have. Every number is computed from the reports.

Exit code: 0 when every image is judged as the catalogue expects and the reference images have no failures;
1 otherwise (or when a report is missing).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "broken_images"))
sys.path.insert(0, str(ROOT))

import catalogue  # noqa: E402  (tests/broken_images/catalogue.py, after the sys.path lines)


def cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def run_all(entries: list[catalogue.Entry], references: list[str], jobs: int) -> None:
    """Certify the images (the catalogue's options for broken ones); the reports land in reports/catalogue."""

    def one(job: tuple[str, str, tuple[str, ...]]) -> None:
        reference, test_dir, options = job
        with tempfile.TemporaryDirectory(prefix="catalogue-") as workdir:
            run = catalogue.certify(reference, test_dir, Path(workdir), options)
        print(f"  certified {reference} in {run.seconds:.0f} s", file=sys.stderr, flush=True)

    work: list[tuple[str, str, tuple[str, ...]]] = []
    for entry in sorted(entries, key=lambda e: e.name != "trn7-sh-wrapper-no-exec"):
        problem = catalogue.unmet_requirement(entry) or catalogue.image_problem(entry)
        if problem:
            print(f"  not certifying {entry.name}: {problem}", file=sys.stderr)
            continue
        work.append((entry.image, entry.test_dir, catalogue.options(entry)))
    work += [(reference, catalogue.REFERENCE_IMAGES[reference], ()) for reference in references]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, work))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", action="store_true", help="certify the images first (else read saved reports)")
    parser.add_argument("--jobs", type=int, default=2, help="harness runs at once with --run (default 2)")
    parser.add_argument("--only", nargs="*", metavar="NAME", help="only these catalogue entries")
    args = parser.parse_args()

    entries = catalogue.load()
    if args.only:
        entries = [e for e in entries if e.name in args.only]
    references = list(catalogue.REFERENCE_IMAGES)
    if args.run:
        run_all(entries, references, args.jobs)

    from conformance.registry import clauses

    registry = [c.id for c in clauses()]
    rows = [
        "| Image | Breaks | What it does wrong | Harness verdict on that clause | Unexpected |",
        "|---|---|---|---|---|",
    ]
    caught: dict[str, bool] = {}
    as_expected = missing = 0
    seconds = 0.0
    for entry in entries:
        report = catalogue.saved_report(entry.image)
        unmet = catalogue.unmet_requirement(entry)
        if report is None:
            missing += 1
            verdict, unexpected = "not run", unmet or "no report in reports/catalogue"
        else:
            judgement = catalogue.judge(entry, report)
            verdict = judgement.verdict
            unexpected = "; ".join(judgement.unexpected) or "none"
            as_expected += judgement.ok
            caught[entry.clause] = caught.get(entry.clause, True) and verdict == "fail"
            seconds += float(report.get("catalogue_run", {}).get("seconds", 0))
        rows.append(f"| `{entry.name}` | {entry.clause} | {cell(entry.description)} | {verdict} | {cell(unexpected)} |")

    reference_lines, reference_failures, reference_missing = [], 0, 0
    for reference in references:
        report = catalogue.saved_report(reference)
        if report is None:
            reference_missing += 1
            reference_lines.append(f"{reference}: not run")
            continue
        problems = catalogue.reference_problems(report)
        reference_failures += len(problems)
        counts = {
            v: sum(c["verdict"] == v for c in report["clauses"]) for v in ("pass", "fail", "skip", "warn", "error")
        }
        summary = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
        reference_lines.append(f"{reference}: {summary}" + (f" ({'; '.join(problems)})" if problems else ""))

    print("\n".join(rows))
    print()
    covered = {e.clause for e in entries}
    n_caught = sum(1 for c in registry if caught.get(c))
    uncovered = [c for c in registry if c not in covered]
    failures = "not run" if reference_missing == len(references) else f"{reference_failures} failures"
    print(f"**{n_caught} of {len(registry)} clauses caught by their own check; reference images: {failures}.**")
    print()
    print(f"- {as_expected} of {len(entries)} broken images judged exactly as the catalogue expects"
          f" ({missing} not run); {len(covered)} of {len(registry)} clauses have a broken image"
          + (f" (none for {', '.join(uncovered)})" if uncovered else "") + ".")  # fmt: skip
    not_caught = [c for c in registry if caught.get(c) is False]
    if not_caught:
        print(f"- not caught by every image that breaks them: {', '.join(not_caught)}.")
    not_run = [c for c in registry if c in covered and c not in caught]
    if not_run:
        print(f"- no report yet for any image that breaks: {', '.join(not_run)}.")
    for line in reference_lines:
        print(f"- {line}")
    print(f"- harness time over the broken images: {seconds:.0f} s (sum of the runs' wall times).")
    ok = as_expected == len(entries) and reference_failures == 0 and reference_missing == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
