"""The gate before the push (scripts/gate.sh), end to end against a real registry on loopback.

- A conforming image (the decision-tree reference image) is certified, pushed as :TAG and :latest to a real
  registry (Debian's docker-registry, started by scripts/start-local-registry.sh on a free loopback port), and
  pulled back by the digest the gate printed.
- A broken image (the reference image without its `serve` program, built by the gate itself) is refused: exit
  code 1, the failed MUST clauses named, and the registry never lists it.
- The gate's own logic, with the certification replaced by a stand-in harness (SMC_VENV pointing at a fake
  venv whose python writes the report) so that it takes seconds: the ECR path (aws and the ECR login/push
  stubbed), a warning that does not block, no AWS credentials, a build failure, a missing or foreign report.

Needs a Docker engine and sagemaker-conformance/decision_trees:latest (scripts/build-images.sh decision_trees).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from conformance.report import json_path

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
GATE = ROOT / "scripts" / "gate.sh"
START_REGISTRY = ROOT / "scripts" / "start-local-registry.sh"
REFERENCE = "sagemaker-conformance/decision_trees:latest"
TEST_DIR = ROOT / "test-dirs" / "decision_trees"
FAST = "--max-examples=5"
CONFORMING = f"{FAST} --clause=SRV-3"
"""The gate's own logic is under test: one clause and what it needs (train, serve, invoke) is enough to certify and
push; the full certification of the reference image is the catalogue's (tests/docker/test_catalogue.py)."""
BROKEN = f"{FAST} --clause=SRV-2"
GATE_SETTINGS = ("SMC_REGISTRY", "SMC_REPORTS_DIR", "SMC_PYTEST_ARGS", "SMC_VENV")
DIGEST_LINE = re.compile(r"^(?P<repo>[^\s@]+)@(?P<digest>sha256:[0-9a-f]{64})$")


def docker_cli(*args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=timeout)


def image_id(reference: str) -> str:
    return docker_cli("image", "inspect", "--format", "{{.Id}}", reference).stdout.strip()


@pytest.fixture(scope="module")
def engine() -> None:
    probe = subprocess.run(["docker", "info"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"no Docker engine ({probe.stderr.strip()[:200]}); run scripts/ensure-docker.sh")
    if docker_cli("image", "inspect", REFERENCE, check=False).returncode != 0:
        pytest.skip(f"image {REFERENCE} is missing: run scripts/build-images.sh decision_trees")


@dataclass
class Registry:
    address: str

    def catalogue(self) -> list[str]:
        answer = requests.get(f"http://{self.address}/v2/_catalog", timeout=10)
        answer.raise_for_status()
        return list(answer.json().get("repositories") or [])

    def tags(self, repository: str) -> list[str]:
        answer = requests.get(f"http://{self.address}/v2/{repository}/tags/list", timeout=10)
        if answer.status_code == 404:  # NAME_UNKNOWN: the registry has never seen this repository
            return []
        answer.raise_for_status()
        return list(answer.json().get("tags") or [])


def free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def registry(engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """A registry of our own on a free loopback port (Docker trusts all of 127.0.0.0/8 as insecure)."""
    port = free_loopback_port()
    state = tmp_path_factory.mktemp("registry")
    command = ["bash", str(START_REGISTRY), "--port", str(port), "--dir", str(state)]
    started = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
    assert started.returncode == 0, f"start-local-registry.sh failed:\n{started.stderr}"
    address = started.stdout.strip()
    assert address == f"127.0.0.1:{port}", started.stdout
    assert "insecure loopback registry" in started.stderr, started.stderr
    try:
        # Idempotent: a second call finds it answering and reuses it, quickly.
        begin = time.monotonic()
        again = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
        assert again.returncode == 0, again.stderr
        assert again.stdout.strip() == address
        assert "reusing" in again.stderr, again.stderr
        assert time.monotonic() - begin < 10
        yield Registry(address)
    finally:
        subprocess.run([*command, "--stop"], capture_output=True, text=True, check=False, timeout=60)


@pytest.fixture
def scratch_refs() -> Iterator[list[str]]:
    """Image references a test created; removed afterwards (references, never IDs: the reference image stays)."""
    refs: list[str] = []
    yield refs
    for ref in refs:
        docker_cli("rmi", ref, check=False)


def gate(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    # The caller's own gate settings must not leak in: each test says what it wants.
    inherited = {k: v for k, v in os.environ.items() if k not in GATE_SETTINGS}
    full_env = {**inherited, "TESTCONTAINERS_RYUK_DISABLED": "true", **(env or {})}
    return subprocess.run(
        ["bash", str(GATE), *args], capture_output=True, text=True, env=full_env, timeout=timeout, check=False
    )


def unique(prefix: str) -> str:
    return f"smc-gate-test/{prefix}-{uuid.uuid4().hex[:10]}"


# --------------------------------------------------------------------------------------------- end to end


def test_conforming_image_is_pushed_and_pulls_back_by_digest(
    registry: Registry, scratch_refs: list[str], tmp_path: Path
) -> None:
    repo = unique("decision-trees")
    local = f"{repo}:latest"
    docker_cli("tag", REFERENCE, local)
    scratch_refs.append(local)
    original = image_id(local)
    version = "v" + uuid.uuid4().hex[:8]
    reports = tmp_path / "reports"
    scratch_refs += [f"{registry.address}/{repo}:{version}", f"{registry.address}/{repo}:latest"]

    begin = time.monotonic()
    result = gate(
        repo, "--no-build", "--test-dir", str(TEST_DIR), "--registry", registry.address, "--tag", version,
        "--reports", str(reports), env={"SMC_PYTEST_ARGS": CONFORMING},
    )  # fmt: skip
    elapsed = time.monotonic() - begin
    assert result.returncode == 0, f"gate exit {result.returncode}:\n{result.stderr[-6000:]}"
    assert elapsed < 110, f"the gate took {elapsed:.0f} s"

    # stdout is exactly the pushed reference by digest; stderr says where the report is.
    match = DIGEST_LINE.match(result.stdout.strip())
    assert match, result.stdout
    assert match["repo"] == f"{registry.address}/{repo}"
    digest = match["digest"]
    report = json_path(reports, local)
    assert f"report: {report}" in result.stderr
    assert f"digest: {registry.address}/{repo}@{digest}" in result.stderr
    document = json.loads(report.read_text())
    assert document["verdict"] == "passed"
    assert document["image"]["id"] == original
    assert (reports / "junit.xml").is_file()

    # The registry has it, under both tags, with the digest the gate printed.
    assert repo in registry.catalogue()
    assert sorted(registry.tags(repo)) == sorted([version, "latest"])
    for tag in (version, "latest"):
        manifest = requests.head(
            f"http://{registry.address}/v2/{repo}/manifests/{tag}",
            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
            timeout=10,
        )
        assert manifest.headers.get("Docker-Content-Digest") == digest, tag

    # Drop the registry tags locally, then pull it back by digest: the same image.
    docker_cli("rmi", f"{registry.address}/{repo}:{version}", f"{registry.address}/{repo}:latest")
    by_digest = f"{registry.address}/{repo}@{digest}"
    scratch_refs.append(by_digest)
    docker_cli("pull", by_digest)
    assert image_id(by_digest) == original


def test_broken_image_is_refused_and_never_reaches_the_registry(
    registry: Registry, scratch_refs: list[str], tmp_path: Path
) -> None:
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f"FROM {REFERENCE}\n"
        "# Broken on purpose: SageMaker runs `docker run IMAGE serve`, and there is no serve any more.\n"
        "RUN rm /opt/program/serve\n"
    )
    repo = unique("no-serve")
    version = "broken1"
    reports = tmp_path / "reports"
    scratch_refs += [f"{repo}:{version}", f"{registry.address}/{repo}:{version}", f"{registry.address}/{repo}:latest"]

    begin = time.monotonic()
    result = gate(
        repo, str(context), "--test-dir", str(TEST_DIR), "--registry", registry.address, "--tag", version,
        "--reports", str(reports), env={"SMC_PYTEST_ARGS": BROKEN},
    )  # fmt: skip
    elapsed = time.monotonic() - begin
    assert result.returncode == 1, f"gate exit {result.returncode}:\n{result.stderr[-6000:]}"
    assert elapsed < 110, f"the gate took {elapsed:.0f} s"
    assert result.stdout == ""
    assert "CERTIFICATION FAILED" in result.stderr
    assert re.search(r"^gate:   SRV-2 \[MUST\] fail: ", result.stderr, re.MULTILINE), result.stderr[-4000:]
    assert "pushing" not in result.stderr

    report = json.loads(json_path(reports, f"{repo}:{version}").read_text())
    assert report["verdict"] == "failed"
    failed = {c["id"] for c in report["clauses"] if c["verdict"] in ("fail", "error")}
    assert "SRV-2" in failed
    for line in re.findall(r"^gate:   (\S+) \[", result.stderr, re.MULTILINE):
        assert line in failed

    # Never in the registry: not in the catalogue, no tags, and the engine holds no registry tag for it either.
    assert repo not in registry.catalogue()
    assert registry.tags(repo) == []
    assert docker_cli("image", "inspect", f"{registry.address}/{repo}:{version}", check=False).returncode != 0


# --------------------------------------------------------------------------------------------- gate logic, fast

FAKE_PYTHON = """#!{python}
# A stand-in for the harness's python: `-m pytest` writes a report as FAKE_HARNESS says; anything else runs
# the real interpreter (the gate also uses python to import-check the harness and to read the report).
import json, os, re, subprocess, sys
args = sys.argv[1:]
if args[:2] != ["-m", "pytest"]:
    os.execv({python!r}, [{python!r}, *args])
opts = dict(a[2:].split("=", 1) for a in args if a.startswith("--") and "=" in a)
with open(os.environ["FAKE_HARNESS_LOG"], "a") as log:
    log.write(" ".join(args) + "\\n")
mode = os.environ.get("FAKE_HARNESS", "pass")
if mode == "no-report":
    sys.exit(0)
image = opts["image"]
image_id = subprocess.run(["docker", "image", "inspect", "--format", "{{{{.Id}}}}", image],
                          capture_output=True, text=True, check=True).stdout.strip()
if mode == "foreign-report":
    image_id = "sha256:" + "0" * 64
warn = {{"id": "SRV-13", "level": "SHOULD", "title": "t", "verdict": "warn", "reason": "waived: slow start is fine"}}
ok = {{"id": "IMG-1", "level": "MUST", "title": "t", "verdict": "pass", "reason": ""}}
clauses, verdict, code = [ok, warn], "passed", 0
if mode == "check-error":  # a check crashed: the harness could not judge SRV-4, which is not the image's fault
    crash = {{"id": "SRV-4", "level": "MUST", "title": "t", "verdict": "error", "reason": "check error: boom"}}
    clauses, verdict, code = [ok, crash], "failed", 1
document = {{"verdict": verdict, "image": {{"reference": image, "id": image_id}}, "clauses": clauses}}
os.makedirs(opts["conformance-report"], exist_ok=True)
slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", image)
with open(os.path.join(opts["conformance-report"], slug + ".json"), "w") as out:
    json.dump(document, out)
sys.exit(code)
"""

FAKE_AWS = """#!/usr/bin/env bash
echo "aws $*" >>"$STUB_LOG"
case "$*" in
  "sts get-caller-identity"*)
    if [ -n "${AWS_STUB_NO_CREDENTIALS:-}" ]; then echo "Unable to locate credentials." >&2; exit 255; fi
    echo 123456789012 ;;
  "configure get region") echo eu-west-1 ;;
  "ecr describe-repositories"*) echo "RepositoryNotFoundException" >&2; exit 254 ;;
  "ecr create-repository"*) echo '{}' ;;
  "ecr get-login-password"*) echo stub-password ;;
  *) echo "aws stub: unexpected call: $*" >&2; exit 1 ;;
esac
"""

# Everything goes to the real engine except the ECR login and push, which cannot reach AWS from here.
FAKE_DOCKER = """#!/usr/bin/env bash
case "$1:$*" in
  login:*amazonaws.com*)
    echo "docker $* password=$(cat)" >>"$STUB_LOG"; echo "Login Succeeded"; exit 0 ;;
  push:*amazonaws.com*)
    echo "docker $*" >>"$STUB_LOG"
    echo "The push refers to repository [${2%:*}]"
    echo "${2##*:}: digest: sha256:$(printf 'ab%.0s' $(seq 32)) size: 1234"; exit 0 ;;
esac
exec {docker} "$@"
"""


def executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@dataclass
class Stubs:
    env: dict[str, str]
    log: Path
    harness_log: Path

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


@pytest.fixture
def stubs(engine: None, tmp_path: Path) -> Stubs:
    real_docker = shutil.which("docker")
    assert real_docker
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    executable(bin_dir / "aws", FAKE_AWS)
    executable(bin_dir / "docker", FAKE_DOCKER.replace("{docker}", real_docker))
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    executable(venv / "bin" / "python", FAKE_PYTHON.format(python=sys.executable))
    log, harness_log = tmp_path / "stub.log", tmp_path / "harness.log"
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "SMC_VENV": str(venv),
        "STUB_LOG": str(log),
        "FAKE_HARNESS_LOG": str(harness_log),
        "AWS_REGION": "",
        "AWS_DEFAULT_REGION": "",
    }
    return Stubs(env, log, harness_log)


def test_ecr_path_creates_the_repository_logs_in_and_pushes(
    stubs: Stubs, scratch_refs: list[str], tmp_path: Path
) -> None:
    repo = unique("ecr")
    docker_cli("tag", REFERENCE, f"{repo}:latest")
    original = image_id(f"{repo}:latest")  # not REFERENCE's, which a concurrent build may move meanwhile
    ecr = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    scratch_refs += [f"{repo}:latest", f"{ecr}/{repo}:1.2.3", f"{ecr}/{repo}:latest"]

    outputs, summary = tmp_path / "github-output", tmp_path / "step-summary"
    env = {**stubs.env, "GITHUB_OUTPUT": str(outputs), "GITHUB_STEP_SUMMARY": str(summary)}
    result = gate(repo, "--no-build", "--test-dir", str(TEST_DIR), "--tag", "1.2.3", "--reports", str(tmp_path / "r"),
                  env=env, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    pushed = f"{ecr}/{repo}@sha256:{'ab' * 32}"
    assert result.stdout.strip() == pushed
    # In GitHub Actions: step outputs for later steps, and a line in the job summary.
    assert f"reference={pushed}" in outputs.read_text().splitlines()
    assert f"image={ecr}/{repo}:1.2.3" in outputs.read_text().splitlines()
    assert pushed in summary.read_text()
    calls = stubs.calls()
    assert calls == [
        "aws sts get-caller-identity --query Account --output text",
        "aws configure get region",
        f"aws ecr describe-repositories --repository-names {repo} --region eu-west-1",
        f"aws ecr create-repository --repository-name {repo} --region eu-west-1",
        "aws ecr get-login-password --region eu-west-1",
        f"docker login --username AWS --password-stdin {ecr} password=stub-password",
        f"docker push {ecr}/{repo}:1.2.3",
        f"docker push {ecr}/{repo}:latest",
    ], calls
    # The certification ran before anything touched ECR, on the image that was pushed.
    assert f"--image={repo}:latest" in stubs.harness_log.read_text()
    assert image_id(f"{ecr}/{repo}:1.2.3") == original
    # A waived SHOULD is a warning: listed, not blocking.
    assert "warnings (they do not block the push)" in result.stderr
    assert "SRV-13 [SHOULD] warn" in result.stderr


def test_no_aws_credentials_fails_before_building(stubs: Stubs, tmp_path: Path) -> None:
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {REFERENCE}\n")
    result = gate(unique("nocreds"), str(context), "--test-dir", str(TEST_DIR),
                  env={**stubs.env, "AWS_STUB_NO_CREDENTIALS": "1"}, timeout=60)  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "aws sts get-caller-identity" in result.stderr
    assert "--registry" in result.stderr
    assert "building" not in result.stderr
    assert not stubs.harness_log.exists()


def test_build_failure_is_exit_2_and_certifies_nothing(stubs: Stubs, registry: Registry, tmp_path: Path) -> None:
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {REFERENCE}\nRUN echo 'this build fails on purpose' && false\n")
    repo = unique("unbuildable")
    result = gate(repo, str(context), "--test-dir", str(TEST_DIR), "--registry", registry.address,
                  env=stubs.env, timeout=120)  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "docker build failed" in result.stderr
    assert "this build fails on purpose" in result.stderr
    assert not stubs.harness_log.exists()
    assert repo not in registry.catalogue()


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("no-report", "the harness wrote no report"),
        ("foreign-report", "refusing to push"),
        ("check-error", "SRV-4 [MUST] error: check error: boom"),
    ],
)
def test_no_push_without_a_passing_report_for_this_very_image(
    stubs: Stubs, registry: Registry, scratch_refs: list[str], tmp_path: Path, mode: str, message: str
) -> None:
    repo = unique(mode)
    docker_cli("tag", REFERENCE, f"{repo}:latest")
    scratch_refs.append(f"{repo}:latest")
    result = gate(repo, "--no-build", "--test-dir", str(TEST_DIR), "--registry", registry.address,
                  "--reports", str(tmp_path / "r"), env={**stubs.env, "FAKE_HARNESS": mode}, timeout=120)  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "nothing was pushed" in result.stderr
    assert result.stdout == ""
    assert repo not in registry.catalogue()
