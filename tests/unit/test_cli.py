"""The console script and the exit-code rule it shares with scripts/gate.sh, with a fake pytest (no Docker)."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance import __version__, cli, verdict
from conformance.registry import clauses

IMAGE = "team/my-model:1.2"
IMAGE_ID = "sha256:" + "ab" * 32


def clause(cid: str, result: str, level: str = "MUST", reason: str = "", evidence: str | None = None) -> dict[str, Any]:
    return {
        "id": cid,
        "level": level,
        "title": f"title of {cid}",
        "verdict": result,
        "reason": reason,
        "evidence": evidence,
    }


PASSED = {"verdict": "passed", "image": {"id": IMAGE_ID}, "clauses": [clause("IMG-1", "pass"), clause("SRV-1", "skip")]}
FAILED = {
    "verdict": "failed",
    "image": {"id": IMAGE_ID},
    "clauses": [
        clause("IMG-1", "pass"),
        clause(
            "SRV-9",
            "fail",
            "SHOULD",
            "A valid payload InvokeEndpoint accepts was refused as too large (413)",
            "SRV-9 [SHOULD] t\n\nA valid payload InvokeEndpoint accepts was refused as too large (413)\n\n"
            "    Expected: 200\n    Actual:   413 Request Entity Too Large\n",
        ),
        clause("SRV-13", "warn", "SHOULD", "downgraded to a warning by the policy: slow is fine"),
    ],
}
CRASHED = {"verdict": "failed", "image": {"id": IMAGE_ID}, "clauses": [clause("SRV-4", "error", reason="boom")]}
CRASHED_AND_FAILED = {**CRASHED, "clauses": [*CRASHED["clauses"], clause("SRV-1", "fail", reason="not on 8080")]}
BUSY = {
    "verdict": "not judged",
    "image": {"id": IMAGE_ID},
    "clauses": [{**clause("SRV-13", "skip", reason="not judged, the host was too busy"), "not_judged": True}],
}
BUSY_AND_FAILED = {**BUSY, "verdict": "failed", "clauses": [*BUSY["clauses"], clause("SRV-1", "fail", reason="x")]}


@pytest.mark.parametrize(
    ("pytest_exit", "document", "code"),
    [
        (0, PASSED, 0),
        (1, FAILED, 1),
        (0, FAILED, 1),  # a failing report is never certified, whatever pytest says
        (1, PASSED, 1),  # nor is a failed pytest run: a test of the suite failed
        (1, CRASHED, 2),  # a check crashed, nothing failed: no verdict on the image
        (1, CRASHED_AND_FAILED, 1),  # a real failure is a verdict even when another check crashed
        (0, BUSY, 2),  # a clause the host was too busy to measure: not certified, not failed
        (1, BUSY_AND_FAILED, 1),
        (2, FAILED, 2),  # interrupted
        (3, PASSED, 2),  # internal error
        (4, None, 2),  # usage error: no engine, no such image, bad option
        (5, None, 2),  # nothing collected
        (0, None, 2),  # no report
    ],
)
def test_the_exit_code_rule(pytest_exit: int, document: dict[str, Any] | None, code: int) -> None:
    summary = verdict.summarize(document) if document is not None else None
    assert verdict.exit_code(pytest_exit, summary) == code


def test_the_summary_keeps_what_the_gate_prints() -> None:
    summary = verdict.summarize(FAILED)
    assert (summary.verdict, summary.image_id) == ("failed", IMAGE_ID)
    (failed,) = summary.of_kind("FAILED")
    assert failed == verdict.ClauseLine(
        "FAILED",
        "SRV-9",
        "SHOULD",
        "fail",
        "A valid payload InvokeEndpoint accepts was refused as too large (413)",
        "",  # the headline repeats the reason, so it is not printed twice
        "Actual: 413 Request Entity Too Large",
    )
    assert [c.id for c in summary.of_kind("WARNED")] == ["SRV-13"]
    assert verdict.summarize(CRASHED).of_kind("ERRORED")[0].reason == "boom"
    no_reason = verdict.summarize({"clauses": [clause("TRN-1", "fail", reason="TRN-1 [MUST] x")]})
    assert no_reason.of_kind("FAILED")[0].reason == "title of TRN-1", "a reason that is only the header is the title"


def test_the_module_prints_the_gates_lines(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    report.write_text(json.dumps(FAILED))
    done = subprocess.run(
        [sys.executable, "-m", "conformance.verdict", str(report), "1"], capture_output=True, text=True, check=True
    )
    lines = [line.split("\t") for line in done.stdout.splitlines()]
    assert lines[0] == ["REPORT", "failed", IMAGE_ID, "1"]
    assert [line[:4] for line in lines[1:]] == [
        ["FAILED", "SRV-9", "SHOULD", "fail"],
        ["WARNED", "SRV-13", "SHOULD", "warn"],
    ]
    missing = subprocess.run(
        [sys.executable, "-m", "conformance.verdict", str(tmp_path / "none.json"), "0"], capture_output=True, text=True
    )
    assert missing.returncode == 2
    assert "cannot read the report" in missing.stderr


class FakePytest:
    """Stands in for pytest.main: records the arguments and writes the report the plugin would."""

    def __init__(self, exit_code: int, document: dict[str, Any] | None) -> None:
        self.exit_code, self.document = exit_code, document
        self.args: list[str] = []

    def __call__(self, args: list[str]) -> int:
        self.args = args
        if self.document is not None:
            directory = Path(next(a.split("=", 1)[1] for a in args if a.startswith("--conformance-report=")))
            directory.mkdir(parents=True, exist_ok=True)
            image = next(a.split("=", 1)[1] for a in args if a.startswith("--image="))
            cli.report_path(directory, image).write_text(json.dumps(self.document))
        return self.exit_code


def run_cli(argv: list[str], fake: FakePytest) -> tuple[int, str]:
    out = io.StringIO()
    return cli.main(argv, runner=fake, out=out), out.getvalue()


EVERY_CLAUSE_PASSED = {**PASSED, "clauses": [clause(c.id, "pass") for c in clauses()]}


def test_a_narrow_run_says_it_certified_only_the_selected_clauses(tmp_path: Path) -> None:
    code, out = run_cli([IMAGE, "--conformance-report", str(tmp_path), "--clause", "IMG-1"], FakePytest(0, PASSED))
    assert code == 0
    total = len(list(clauses()))
    assert f"CERTIFIED {IMAGE}: every MUST and SHOULD clause of the 2 selected (of {total}) passed." in out


def test_a_certified_image(tmp_path: Path) -> None:
    fake = FakePytest(0, EVERY_CLAUSE_PASSED)
    code, out = run_cli([IMAGE, "--test-dir", "td", "--conformance-report", str(tmp_path)], fake)
    assert code == 0
    assert fake.args == [
        "--pyargs",
        "conformance",
        "-p",
        "no:cacheprovider",
        f"--image={IMAGE}",
        f"--conformance-report={tmp_path}",
        "--test-dir=td",
    ]
    assert f"CERTIFIED {IMAGE}: every MUST and SHOULD clause passed." in out
    assert f"Report: {tmp_path / 'team_my-model_1.2.json'}" in out


def test_a_failed_image_names_its_clauses_and_pytest_options_pass_through(tmp_path: Path) -> None:
    fake = FakePytest(1, FAILED)
    code, out = run_cli([IMAGE, "-k", "SRV-9", "--max-examples=5", "--co", f"--conformance-report={tmp_path}"], fake)
    assert code == 1
    assert fake.args[-4:] == ["-k", "SRV-9", "--max-examples=5", "--co"]
    assert "--co" in fake.args, "pytest's --co is not an abbreviation of --conformance-report"
    assert f"FAILED {IMAGE}: 1 clause(s) failed: SRV-9." in out
    assert "    SRV-9 [SHOULD] A valid payload InvokeEndpoint accepts was refused as too large (413)" in out
    assert "        Actual: 413 Request Entity Too Large" in out
    assert "Warnings (do not fail):\n    SRV-13 [SHOULD] downgraded to a warning by the policy: slow is fine" in out


def test_a_crashed_check_is_not_a_verdict(tmp_path: Path) -> None:
    code, out = run_cli([IMAGE, f"--conformance-report={tmp_path}"], FakePytest(1, CRASHED))
    assert code == 2
    assert "COULD NOT JUDGE" in out
    assert "a check crashed" in out
    assert "Not judged:\n    SRV-4 [MUST] boom" in out


def test_no_engine_or_no_image_is_not_a_verdict(tmp_path: Path) -> None:
    code, out = run_cli([IMAGE, f"--conformance-report={tmp_path}"], FakePytest(4, None))
    assert code == 2
    assert f"COULD NOT JUDGE {IMAGE}: pytest stopped before any clause was judged (pytest exit code 4" in out


def test_a_stale_report_does_not_pass_for_this_run(tmp_path: Path) -> None:
    cli.report_path(tmp_path, IMAGE).write_text(json.dumps(PASSED))
    code, out = run_cli([IMAGE, f"--conformance-report={tmp_path}"], FakePytest(0, None))
    assert code == 2
    assert "the harness wrote no report" in out


@pytest.mark.parametrize("argv", [[], ["--test-dir"]])
def test_usage_errors_exit_2_without_running_pytest(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakePytest(0, PASSED)
    assert run_cli(argv, fake)[0] == 2
    assert fake.args == []
    assert "usage: sagemaker-conformance" in capsys.readouterr().err


def test_version_and_help_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["--version"], FakePytest(0, None))[0] == 0
    assert capsys.readouterr().out.strip() == f"sagemaker-conformance {__version__}"
    assert run_cli(["--help"], FakePytest(0, None))[0] == 0
    assert "Exit codes: 0 certified, 1 failed" in capsys.readouterr().out


def test_the_version_has_one_source() -> None:
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject
    assert 'version = { attr = "conformance.__version__" }' in pyproject
    assert "\nversion = " not in pyproject.split("[tool.setuptools.dynamic]")[0]
    changelog = (Path(__file__).resolve().parents[2] / "CHANGELOG.md").read_text()
    assert re.search(rf"^## \[{re.escape(__version__)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", changelog, re.M), (
        "no entry for it"
    )
    assert "## [Unreleased]" in changelog
