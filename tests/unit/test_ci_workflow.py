"""The project's own CI workflow (.github/workflows/ci.yml): the README's test command, the same script as .ci/run,
on every push and pull request."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
CI_RUN = ROOT / ".ci" / "run"


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    document = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(document, dict), "the workflow is not a YAML mapping"
    return document


def ci_run_script() -> str:
    """The script .ci/run calls (`bash scripts/test.sh`)."""
    calls = re.findall(r"^\s*(?:exec\s+)?bash\s+(\S+)", CI_RUN.read_text(), re.M)
    assert len(calls) == 1, f".ci/run should call exactly one script: {calls}"
    return calls[0]


def readme_test_command() -> str:
    """The README's test command: the line after "The whole test suite" in the set-up block."""
    match = re.search(r"^# The whole test suite.*\n(.+)$", (ROOT / "README.md").read_text(), re.M)
    assert match, "README.md has no '# The whole test suite' line followed by its command"
    return match.group(1).strip()


def run_steps(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, step) for name, job in workflow["jobs"].items() for step in job["steps"] if "run" in step]


def test_the_readme_test_command_is_the_script_ci_run_calls() -> None:
    script = ci_run_script()
    assert (ROOT / script).is_file(), script
    assert shlex.split(readme_test_command()) == ["bash", script]


def test_it_runs_on_every_push_and_pull_request(workflow: dict[str, Any]) -> None:
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads the bare key `on` as True
    assert isinstance(on, dict), on
    for event in ("push", "pull_request"):
        assert event in on, f"no {event} trigger"
        assert on[event] in (None, {}), f"{event} is filtered ({on[event]}): it must run on every one"


def test_it_calls_the_same_script_as_ci_run(workflow: dict[str, Any]) -> None:
    script = ci_run_script()
    commands = [shlex.split(str(step["run"])) for _, step in run_steps(workflow)]
    assert [c for c in commands if c in (["bash", ".ci/run"], ["bash", script])], commands
    assert len(commands) == 1, f"one command, the README's: {commands}"


def test_the_job_checks_out_and_sets_up_python_first(workflow: dict[str, Any]) -> None:
    assert workflow.get("name")
    for name, job in workflow["jobs"].items():
        assert job.get("runs-on"), name
        assert job.get("timeout-minutes"), f"{name}: a hung engine must not hold a runner for 6 hours"
        used = [str(s.get("uses", "")).split("@")[0] for s in job["steps"]]
        assert used[:2] == ["actions/checkout", "actions/setup-python"], used
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), step


def test_both_workflows_live_side_by_side() -> None:
    names = sorted(p.name for p in WORKFLOW.parent.glob("*.yml"))
    assert {"ci.yml", "conformance-gate.yml"} <= set(names)
