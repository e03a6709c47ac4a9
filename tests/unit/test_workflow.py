"""The GitHub workflow users copy (.github/workflows/conformance-gate.yml) and the gate script it calls.

No Docker: the YAML is parsed and checked for the shape the README promises (a job per reference image, each
calling scripts/gate.sh with options the gate knows), and the gate's usage handling is run directly.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "conformance-gate.yml"
GATE = ROOT / "scripts" / "gate.sh"
START_REGISTRY = ROOT / "scripts" / "start-local-registry.sh"
IMAGES = {"decision_trees", "catboost"}


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    document = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(document, dict), "the workflow is not a YAML mapping"
    return document


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the bare key `on` as the boolean True.
    on = workflow.get("on", workflow.get(True))
    assert isinstance(on, dict), f"'on' should be a mapping of events, got {on!r}"
    return on


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps") or [])


def uses(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in steps(job) if str(s.get("uses", "")).split("@")[0] == action]


def gate_commands(job: dict[str, Any]) -> list[str]:
    return [str(s["run"]) for s in steps(job) if "scripts/gate.sh" in str(s.get("run", ""))]


def expand(text: str, env: dict[str, str]) -> str:
    """The job's env variables in a shell word ($X, ${X}) or an expression (${{ env.X }})."""
    text = re.sub(r"\$\{\{\s*env\.(\w+)\s*\}\}", lambda m: env.get(m[1], m[0]), text)
    return re.sub(r"\$\{?(\w+)\}?", lambda m: env.get(m[1], m[0]), text)


def test_the_workflow_is_valid_yaml_with_a_name_and_jobs(workflow: dict[str, Any]) -> None:
    assert workflow.get("name")
    assert workflow.get("jobs"), "no jobs"
    for name, job in workflow["jobs"].items():
        assert job.get("runs-on"), f"job {name} has no runs-on"
        assert steps(job), f"job {name} has no steps"
        for step in steps(job):
            assert ("uses" in step) != ("run" in step), f"job {name}: a step needs exactly one of uses/run: {step}"


def test_it_runs_on_pushes_to_the_reference_images_and_by_hand(workflow: dict[str, Any]) -> None:
    on = triggers(workflow)
    assert "reference_images/**" in on["push"]["paths"]
    assert "workflow_dispatch" in on


def test_one_job_per_reference_image(workflow: dict[str, Any]) -> None:
    matrices = [job["strategy"]["matrix"] for job in workflow["jobs"].values() if "strategy" in job]
    assert matrices, "no job has a matrix"
    assert any(set(m.get("image", [])) == IMAGES for m in matrices), matrices
    for name in IMAGES:
        assert (ROOT / "reference_images" / name).is_dir(), name
        assert (ROOT / "test-dirs" / name).is_dir(), name
    for job in workflow["jobs"].values():
        assert job["strategy"].get("fail-fast") is False, "one image's failure must not cancel the other's gate"


def test_each_image_is_built_from_its_own_folder(workflow: dict[str, Any]) -> None:
    for name, job in workflow["jobs"].items():
        words = shlex.split(gate_commands(job)[0])
        assert words[3] == "reference_images/${{ matrix.image }}", f"job {name}: build context {words[3]}"
        assert "--dockerfile" not in words, words
        assert not any("ALGORITHM" in word for word in words), words
        for image in job["strategy"]["matrix"]["image"]:
            assert (ROOT / "reference_images" / image / "Dockerfile").is_file(), image


def test_every_job_calls_the_gate_script(workflow: dict[str, Any]) -> None:
    for name, job in workflow["jobs"].items():
        commands = gate_commands(job)
        assert len(commands) == 1, f"job {name} should call scripts/gate.sh exactly once: {commands}"
        words = shlex.split(commands[0])
        assert words[:2] == ["bash", "scripts/gate.sh"], words


def test_the_gate_is_called_with_options_it_knows(workflow: dict[str, Any]) -> None:
    usage = subprocess.run(["bash", str(GATE), "--help"], capture_output=True, text=True, check=True).stdout
    for job in workflow["jobs"].values():
        words = shlex.split(gate_commands(job)[0])
        gate_words = words[: words.index("--")] if "--" in words else words
        for word in gate_words:
            if word.startswith("--"):
                assert re.search(rf"(^|\s){re.escape(word.split('=')[0])}\b", usage), f"gate.sh has no {word}"
        assert "--test-dir" in gate_words
        reports = gate_words[gate_words.index("--reports") + 1]
        upload = uses(job, "actions/upload-artifact")
        assert upload, "the report is not uploaded"
        assert "always()" in str(upload[0].get("if", "")), "the report must be uploaded when the gate fails too"
        env = {k: str(v) for k, v in (job.get("env") or {}).items()}
        uploaded = expand(str(upload[0]["with"]["path"]), env)
        assert uploaded.rstrip("/") == expand(reports, env).rstrip("/"), "the upload should be the gate's --reports"


def test_the_job_sets_up_python_installs_the_harness_and_assumes_a_role(workflow: dict[str, Any]) -> None:
    for job in workflow["jobs"].values():
        names = [str(s.get("uses", "")).split("@")[0] for s in steps(job)]
        assert names[0] == "actions/checkout"
        python = uses(job, "actions/setup-python")
        assert python, "no actions/setup-python step"
        assert str(python[0]["with"]["python-version"]) == "3.11"
        runs = [str(s.get("run", "")) for s in steps(job)]
        install = next(i for i, run in enumerate(runs) if "pip install -e ." in run)
        aws = uses(job, "aws-actions/configure-aws-credentials")
        assert aws, "no aws-actions/configure-aws-credentials step"
        assert "secrets." in str(aws[0]["with"]["role-to-assume"]), "the role should come from a secret"
        assert aws[0]["with"].get("aws-region")
        gate_step = next(i for i, run in enumerate(runs) if "scripts/gate.sh" in run)
        assert install < gate_step
        assert steps(job).index(aws[0]) < gate_step
    assert workflow["permissions"]["id-token"] == "write", "OIDC role assumption needs id-token: write"


@pytest.mark.parametrize("script", [GATE, START_REGISTRY], ids=lambda p: p.name)
def test_the_scripts_exist_are_executable_and_parse(script: Path) -> None:
    assert script.is_file()
    assert os.access(script, os.X_OK), f"{script} is not executable (git update-index --chmod=+x)"
    subprocess.run(["bash", "-n", str(script)], check=True)


def test_the_gate_help_exits_zero() -> None:
    result = subprocess.run(["bash", str(GATE), "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    for word in ("--test-dir", "--registry", "--tag", "--dockerfile", "--no-build", "SMC_PYTEST_ARGS", "Exit codes"):
        assert word in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "IMAGE_NAME is required"),
        (["Not-Lowercase"], "not a valid repository name"),
        (["ok", "--tag", "bad tag!"], "not a valid tag"),
        (["ok", "--frobnicate"], "unknown option: --frobnicate"),
        (["ok", "--registry", "https://example.test"], "without a scheme"),
        (["ok", "--no-build", "--", "--build-arg", "X=1"], "--no-build takes no docker build arguments"),
        (["ok", "/nonexistent/context"], "is not a folder"),
    ],
)
def test_gate_usage_errors_exit_2_before_touching_docker(args: list[str], message: str) -> None:
    result = subprocess.run(["bash", str(GATE), *args], capture_output=True, text=True, check=False, timeout=30)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "usage: scripts/gate.sh" in result.stderr
    assert result.stdout == ""
