"""The ready-made CI examples (examples/ci/) and the action (action.yml): each certifies before it pushes, and pushes
only when the certification passed. Their steps run for real in tests/docker/test_ci_steps.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "ci"


def load(name: str) -> Any:
    return yaml.safe_load((EXAMPLES / name).read_text())


def test_the_github_example_certifies_with_the_action_before_it_pushes() -> None:
    steps = load("github-actions.yml")["jobs"]["certify-and-push"]["steps"]
    names = [s.get("name", s.get("uses", "")) for s in steps]
    certify = next(i for i, s in enumerate(steps) if "sagemaker-conformance" in str(s.get("uses", "")))
    push = names.index("Push to ECR")
    assert certify < push
    assert not any("if" in s for s in steps[certify + 1 :]), "a later step must not run after a failed certification"
    assert steps[certify]["with"]["image"] == "${{ env.IMAGE }}"


def test_the_gitlab_example_runs_the_tool_image_before_it_pushes() -> None:
    job = load("gitlab-ci.yml")["certify-and-push"]
    script = [" ".join(str(line).split()) for line in job["script"]]
    start = next(i for i, line in enumerate(script) if line.startswith("docker start -a smc-certify"))
    push = next(i for i, line in enumerate(script) if line.startswith("docker push"))
    assert start < push, "the push comes after the certification in the same script, which stops at a failure"
    assert any("/var/run/docker.sock:/var/run/docker.sock" in line for line in script[:start])
    assert job["artifacts"]["when"] == "always"


def test_the_codebuild_example_aborts_before_the_push_when_the_certification_fails() -> None:
    build = load("buildspec.yml")["phases"]["build"]
    assert build["on-failure"] == "ABORT"
    commands = [" ".join(str(c).split()) for c in build["commands"]]
    certify = next(i for i, c in enumerate(commands) if "$SMC_TOOL_IMAGE" in c)
    push = next(i for i, c in enumerate(commands) if c.startswith("docker push"))
    assert certify < push


def test_the_action_installs_the_tool_certifies_and_uploads_the_reports_always() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert set(action["inputs"]) >= {"image", "test-dir", "reports", "args"}
    steps = action["runs"]["steps"]
    certify = next(s for s in steps if s.get("id") == "certify")
    assert "sagemaker-conformance" in certify["run"]
    assert "|| code=$?" in certify["run"]
    upload = steps[-1]
    assert upload["uses"].startswith("actions/upload-artifact@")
    assert upload["if"] == "always()"
