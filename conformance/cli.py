"""``sagemaker-conformance IMAGE [--test-dir DIR] [pytest options]``: certify one image, then say so plainly.

Runs the same suite as ``pytest --pyargs conformance --image=IMAGE --test-dir=DIR`` (``python -m pytest`` with
the plugin), writes the JSON report (``--conformance-report DIR``, default ``conformance-reports``), and ends with a
short summary: the verdict, the clauses that failed, where the report is. Exit codes as scripts/gate.sh's
(:mod:`conformance.verdict`): 0 certified, 1 failed, 2 could not judge (a usage error, no engine, no image, a
check that crashed).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from conformance import __version__, report, verdict
from conformance.registry import clauses as registered

DEFAULT_REPORTS = "conformance-reports"
EPILOG = """\
IMAGE comes first; any other option goes to pytest and the harness, e.g. -k SRV-4, -x, --max-examples=5,
--startup-timeout=120, --junitxml=reports/junit.xml (all of them: pytest --pyargs conformance --help).

Exit codes: 0 certified, 1 failed (a MUST or SHOULD clause failed), 2 could not judge (a usage error, no
engine, no image, a check that crashed). The clauses are specified in the project's docs/clauses.md."""

PytestRunner = Callable[[list[str]], int]


def parser() -> argparse.ArgumentParser:
    parse = argparse.ArgumentParser(
        prog="sagemaker-conformance",
        description="Certify a SageMaker bring-your-own-container image against the train/serve contract.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,  # else pytest's --co would be taken for --conformance-report
    )
    parse.add_argument("image", metavar="IMAGE", help="the image to certify (built first: it is never pulled)")
    parse.add_argument(
        "--test-dir",
        metavar="DIR",
        help="the test-dir: /opt/ml-shaped training data, payload.csv, conformance.toml (default: test-dirs/<name>)",
    )
    parse.add_argument(
        "--conformance-report",
        metavar="DIR",
        default=DEFAULT_REPORTS,
        help=f"folder for the JSON report (default: {DEFAULT_REPORTS})",
    )
    parse.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parse


def report_path(directory: Path, image: str) -> Path:
    """Where the plugin writes the image's report (conformance.report.write's name)."""
    return report.json_path(directory, image)


def pytest_arguments(image: str, test_dir: str | None, reports: Path, extra: Sequence[str]) -> list[str]:
    args = ["--pyargs", "conformance", "-p", "no:cacheprovider", f"--image={image}", f"--conformance-report={reports}"]
    if test_dir is not None:
        args.append(f"--test-dir={test_dir}")
    return [*args, *extra]


def summary_lines(image: str, pytest_exit: int, code: int, summary: verdict.Summary | None, report: Path) -> list[str]:
    """The friendly end: what the verdict is, what failed, where to look."""
    if summary is None:
        why = "pytest stopped before any clause was judged" if pytest_exit > 1 else "the harness wrote no report"
        return [
            f"sagemaker-conformance: COULD NOT JUDGE {image}: {why} (pytest exit code {pytest_exit}; see above).",
        ]
    lines = []
    if code == verdict.CERTIFIED:
        judged, every = summary.judged, len(list(registered()))
        scope = "" if judged >= every else f" of the {judged} selected (of {every})"
        lines.append(f"sagemaker-conformance: CERTIFIED {image}: every MUST and SHOULD clause{scope} passed.")
    elif code == verdict.FAILED:
        failed = summary.of_kind("FAILED")
        names = ", ".join(c.id for c in failed) or "see above"
        lines.append(f"sagemaker-conformance: FAILED {image}: {len(failed)} clause(s) failed: {names}.")
    else:
        if pytest_exit > 1:
            why = f"pytest stopped (exit code {pytest_exit})"
        elif summary.of_kind("ERRORED"):
            why = "a check crashed (a harness or engine problem, not a verdict on the image)"
        else:
            why = "the host was too busy to measure some clauses fairly (run it again on a quieter host)"
        lines.append(f"sagemaker-conformance: COULD NOT JUDGE {image}: {why}.")
    kinds = (
        ("FAILED", "Failed"),
        ("ERRORED", "Not judged"),
        ("UNJUDGED", "Not judged (a busy host)"),
        ("WARNED", "Warnings (do not fail)"),
    )
    for kind, title in kinds:
        clauses = summary.of_kind(kind)
        if clauses:
            lines.append(f"  {title}:")
        for clause in clauses:
            lines.append(f"    {clause.id} [{clause.level}] {clause.reason}")
            lines += [f"        {text}" for text in (clause.headline, clause.actual) if text]
    lines.append(f"  Report: {report}")
    return lines


def run_pytest(args: list[str]) -> int:
    """``python -m pytest ARGS`` in a child process, as the gate runs it (the plugin loads there, unimported)."""
    child = subprocess.Popen([sys.executable, "-m", "pytest", *args])
    while True:
        try:
            return child.wait()
        except KeyboardInterrupt:
            # Ctrl-C reached the child too: it removes its containers and exits 2; wait for that.
            continue


def main(argv: Sequence[str] | None = None, runner: PytestRunner = run_pytest, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        options, extra = parser().parse_known_args(argv)
    except SystemExit as stop:  # argparse's usage error (2), --help and --version (0)
        return int(stop.code or 0)
    reports = Path(options.conformance_report)
    report = report_path(reports, options.image)
    report.unlink(missing_ok=True)  # a report left by an earlier run must not pass for this one's
    pytest_exit = runner(pytest_arguments(options.image, options.test_dir, reports, extra))
    summary = verdict.read(report)
    code = verdict.exit_code(pytest_exit, summary)
    out.write("\n" + "\n".join(summary_lines(options.image, pytest_exit, code, summary, report)) + "\n")
    out.flush()
    return code


if __name__ == "__main__":
    raise SystemExit(main())
