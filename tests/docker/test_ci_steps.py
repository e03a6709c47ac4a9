"""The ready-made CI steps, run here for real: the GitHub Action's steps (action.yml, run as a script, as the runner
would) and the tool's image (tool/Dockerfile) certifying through the engine's socket, the way the GitLab CI and
CodeBuild examples (examples/ci/) run it. Each certifies the reference image on one clause and what it needs (the
full certification of that image is the catalogue's), a broken image, and an image that does not exist, and must
give the command's exit codes: 0, 1 and 2.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.report import json_path

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = "sagemaker-conformance/decision_trees:latest"
BROKEN = "smc-broken/srv9-nginx-1m-body-limit:latest"
TEST_DIR = ROOT / "test-dirs" / "decision_trees"
NARROW = ("--max-examples=5", "--clause", "SRV-3")
TOOL = "smc-test/sagemaker-conformance-tool:latest"


def require(reference: str) -> None:
    if subprocess.run(["docker", "image", "inspect", reference], capture_output=True, check=False).returncode:
        pytest.fail(f"{reference} is not built: run scripts/test.sh (it builds every image)", pytrace=False)


def clean_env() -> dict[str, str]:
    """The environment of a CI job: nothing of this pytest session or of the checkout's venv."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("PYTEST_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    env["PATH"] = ":".join(p for p in env.get("PATH", "").split(":") if ".venv" not in p)
    return env


# --- the GitHub Action ----------------------------------------------------------------------------------------------


@dataclass
class Action:
    steps: list[dict[str, Any]]
    inputs: dict[str, Any]
    temp: Path
    work: Path

    def run(self, image: str, args: str, reports: str = "conformance-reports") -> tuple[int, str, dict[str, str]]:
        """The action's shell steps in order, as a runner does (``bash -e {0}``, inputs through ``env``); a failed
        step ends the job, and ``if: always()`` steps are the runner's own (the upload): only checked."""
        given = {"image": image, "test-dir": str(TEST_DIR), "reports": reports, "args": args}
        output = self.temp / f"output-{len(list(self.temp.glob('output-*')))}"
        output.touch()
        log = []
        for step in self.steps:
            if "run" not in step or "install" in step["name"].lower():
                continue
            code, text = self._step(step, given, output)
            log.append(text)
            if code != 0:
                break
        outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
        return code, "\n".join(log), outputs

    def install(self) -> None:
        step = next(s for s in self.steps if "run" in s and "install" in s["name"].lower())
        code, text = self._step(step, {}, self.temp / "install-output")
        assert code == 0, text[-4000:]

    def _step(self, step: dict[str, Any], given: dict[str, str], output: Path) -> tuple[int, str]:
        env = clean_env()
        env.update(GITHUB_ACTION_PATH=str(ROOT), RUNNER_TEMP=str(self.temp), GITHUB_OUTPUT=str(output))
        for name, value in (step.get("env") or {}).items():
            env[name] = re.sub(
                r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}",
                lambda m: given.get(m.group(1), str(self.inputs[m.group(1)].get("default", ""))),
                str(value),
            )
        script = self.temp / "step.sh"
        script.write_text(step["run"])
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=self.work, env=env, capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        return done.returncode, done.stdout + done.stderr


@pytest.fixture(scope="module")
def action(tmp_path_factory: pytest.TempPathFactory) -> Action:
    document = yaml.safe_load((ROOT / "action.yml").read_text())
    assert document["runs"]["using"] == "composite"
    made = Action(
        document["runs"]["steps"],
        document["inputs"],
        tmp_path_factory.mktemp("runner-temp"),
        tmp_path_factory.mktemp("workspace"),
    )
    made.install()
    return made


def test_the_action_certifies_an_image_and_names_its_report(action: Action) -> None:
    require(REFERENCE)
    code, log, outputs = action.run(REFERENCE, " ".join(NARROW))
    assert code == 0, log[-6000:]
    assert f"sagemaker-conformance: CERTIFIED {REFERENCE}" in log
    report = action.work / outputs["report"]
    assert report == json_path(action.work / "conformance-reports", REFERENCE)
    assert json.loads(report.read_text())["verdict"] == "passed"
    assert report.with_suffix(".html").is_file()


def test_the_action_fails_the_step_of_a_broken_image_and_still_uploads_its_report(action: Action) -> None:
    require(BROKEN)
    code, log, outputs = action.run(BROKEN, "--max-examples=5 --clause SRV-9", reports="broken-reports")
    assert code == 1, log[-6000:]
    assert f"sagemaker-conformance: FAILED {BROKEN}: 1 clause(s) failed: SRV-9." in log
    assert json.loads((action.work / outputs["report"]).read_text())["verdict"] == "failed"
    upload = next(s for s in action.steps if "upload-artifact" in str(s.get("uses", "")))
    assert upload["if"] == "always()", "the reports are uploaded when the certification failed too"
    assert upload["with"]["path"] == "${{ inputs.reports }}"


def test_the_action_does_not_judge_an_image_that_does_not_exist(action: Action) -> None:
    code, log, _ = action.run("smc-no-such-image/x:latest", "")
    assert code == 2, log[-4000:]
    assert "COULD NOT JUDGE smc-no-such-image/x:latest" in log


# --- the tool's image -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tool() -> Iterator[str]:
    built = subprocess.run(
        ["bash", str(ROOT / "scripts" / "build-tool-image.sh"), TOOL], capture_output=True, text=True, timeout=900
    )
    assert built.returncode == 0, built.stderr[-4000:]
    yield TOOL
    subprocess.run(["docker", "image", "rm", "-f", TOOL], capture_output=True, check=False)


def certify_in_tool(tool: str, image: str, args: tuple[str, ...], out: Path) -> tuple[int, str]:
    """As examples/ci/gitlab-ci.yml does it: the tool's container on the engine through its socket, the test-dir
    copied in, the reports copied out."""
    name = f"smc-tool-test-{os.getpid()}-{len(list(out.parent.iterdir()))}"
    create = [
        "docker", "create", "--name", name, "-v", "/var/run/docker.sock:/var/run/docker.sock",
        "-e", "TESTCONTAINERS_RYUK_DISABLED=true",  # this machine has no reaper image; a CI runner's engine pulls it
        tool, image, "--test-dir", "test-dir", "--conformance-report", "conformance-reports", *args,
    ]  # fmt: skip
    subprocess.run(create, capture_output=True, text=True, check=True)
    try:
        subprocess.run(["docker", "cp", str(TEST_DIR), f"{name}:/certify/test-dir"], capture_output=True, check=True)
        done = subprocess.run(["docker", "start", "-a", name], capture_output=True, text=True, timeout=900)
        out.mkdir(parents=True, exist_ok=True)
        subprocess.run(["docker", "cp", f"{name}:/certify/conformance-reports", str(out)], capture_output=True)
        return done.returncode, done.stdout + done.stderr
    finally:
        subprocess.run(["docker", "rm", "-f", "-v", name], capture_output=True, check=False)


def test_the_tool_image_certifies_through_the_engine_socket(tool: str, tmp_path: Path) -> None:
    require(REFERENCE)
    code, log = certify_in_tool(tool, REFERENCE, NARROW, tmp_path / "ok")
    assert code == 0, log[-6000:]
    assert f"sagemaker-conformance: CERTIFIED {REFERENCE}" in log
    report = json.loads(json_path(tmp_path / "ok" / "conformance-reports", REFERENCE).read_text())
    assert report["verdict"] == "passed"
    assert {c["id"] for c in report["clauses"]} >= {"TRN-1", "SRV-2", "SRV-3"}


def test_the_tool_image_gives_the_commands_exit_codes(tool: str, tmp_path: Path) -> None:
    require(BROKEN)
    code, log = certify_in_tool(tool, BROKEN, ("--max-examples=5", "--clause", "SRV-9"), tmp_path / "broken")
    assert code == 1, log[-6000:]
    assert f"sagemaker-conformance: FAILED {BROKEN}: 1 clause(s) failed: SRV-9." in log
    code, log = certify_in_tool(tool, "smc-no-such-image/x:latest", (), tmp_path / "missing")
    assert code == 2, log[-4000:]
