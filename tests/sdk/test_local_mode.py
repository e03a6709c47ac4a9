"""Proof against AWS's own client: the SageMaker Python SDK's local mode runs both reference images.

Local mode (`sagemaker` 2.x, `LocalSession`, `instance_type="local"`) writes a compose file and runs the
image with `docker compose` / `docker-compose` as SageMaker would: `train` with the /opt/ml tree the SDK
lays out, then `serve` behind its own /ping wait, for an endpoint and for each batch transform. The SDK
lives in its own virtual environment (scripts/ensure-sdk.sh) and is driven by local_mode_driver.py in a
subprocess, offline: fake credentials, a region, `file://` inputs and outputs, telemetry opted out, and
every AWS endpoint pointed at a recorder on the loopback that must see no request.

Its answers are judged against the harness's own round trip: the model the SDK trained, served by the
harness (`ServingContainer`, as the conformance checks serve it) and asked the same payload; for the
decision tree also the test-dir's expected_output.csv.
"""

from __future__ import annotations

import contextlib
import fcntl
import http.server
import json
import os
import signal
import socket
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance import contract, testdir
from conformance.targets.docker import engine
from conformance.targets.docker.networks import populate_volume
from conformance.targets.docker.serving import ServingContainer

docker = pytest.importorskip("docker")

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("local_mode_driver.py")
IMAGES = ["decision_trees", "catboost"]
STRATEGIES = ("MultiRecord", "SingleRecord")
# Train, one endpoint and two transform jobs; about a minute per image when the machine is idle. Local
# mode's own /ping wait gives up after 120 s per container, so this bounds a run that hangs elsewhere.
SDK_TIMEOUT_S = 600
# The one network every local-mode compose file names (and creates when missing).
LOCAL_MODE_NETWORK = "sagemaker-local"
LOCK = Path(os.environ.get("SMC_LOCK_DIR", "/tmp")) / "sagemaker-conformance-sdk-local-mode.lock"


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    try:
        engine_client = docker.from_env()
        engine_client.ping()
    except Exception as exc:  # no engine: every test here is skipped, with the reason
        pytest.skip(f"no Docker engine ({exc}); run scripts/ensure-docker.sh")
    yield engine_client
    engine_client.close()


@pytest.fixture(scope="session")
def sdk_python() -> Path:
    """The SDK venv's python; scripts/ensure-sdk.sh installs it (and docker-compose) when missing."""
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "ensure-sdk.sh")], capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, f"scripts/ensure-sdk.sh failed:\n{done.stderr[-3000:]}"
    return Path(done.stdout.strip().splitlines()[-1])


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Stands in for every AWS endpoint: notes the request and answers 503 at once."""

    seen: list[str]

    def _answer(self) -> None:
        self.seen.append(f"{self.command} {self.headers.get('Host', '')}{self.path}")
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the list is the record
        pass


@contextlib.contextmanager
def aws_recorder() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []
    handler = type("Recorder", (_Recorder,), {"seen": seen})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def offline_env(home: Path, aws_endpoint: str) -> dict[str, str]:
    """The machine's environment without AWS settings, plus fake credentials and a region."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SAGEMAKER_", "BOTO"))}
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        {
            # A fresh HOME: no ~/.aws, ~/.sagemaker or ~/.config/sagemaker of the user's can change the run.
            "HOME": str(home),
            # ... but the user's Docker CLI settings (contexts) still apply to local mode's docker and compose.
            "DOCKER_CONFIG": os.environ.get("DOCKER_CONFIG", str(Path.home() / ".docker")),
            "AWS_CONFIG_FILE": str(home / "aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws-credentials"),
            "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "fake-secret-for-local-mode",
            "AWS_DEFAULT_REGION": "us-west-2",
            "AWS_REGION": "us-west-2",
            "AWS_EC2_METADATA_DISABLED": "true",
            # Any AWS call the SDK still makes (STS, S3, CloudWatch Logs) reaches the recorder, fails at once
            # instead of retrying against unreachable endpoints for minutes, and fails the test.
            "AWS_ENDPOINT_URL": aws_endpoint,
            "AWS_MAX_ATTEMPTS": "1",
            "SAGEMAKER_SUPPRESS_V2_WARNING": "1",
        }
    )
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def local_mode_turn(client: Any) -> Iterator[None]:
    """One local-mode run at a time on this machine, and the shared network removed by the run that made it.

    Every local-mode compose project joins the network `sagemaker-local` and none removes it; a network
    that was there before the run (someone else's local mode) is left alone.
    """
    with LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        existed = bool(client.networks.list(names=[LOCAL_MODE_NETWORK]))
        try:
            yield
        finally:
            if not existed:
                for network in client.networks.list(names=[LOCAL_MODE_NETWORK]):
                    with contextlib.suppress(docker.errors.APIError):
                        network.remove()


def run_driver(python: Path, args: list[str], env: dict[str, str], log: Path) -> int:
    """Run the driver in its own process group, so that a timeout also ends the compose processes it started."""
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(python), str(DRIVER), *args], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            return process.wait(timeout=SDK_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"local mode did not finish within {SDK_TIMEOUT_S} s; its output:\n{tail(log)}")
        finally:
            # Whatever compose processes local mode left (a failed job leaves its `up` running).
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def tail(log: Path, lines: int = 60) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def harness_answers(
    client: Any, image: str, model_dir: Path, bodies: list[bytes], content_type: str, labels: dict[str, str]
) -> list[str]:
    """The harness's own round trip: the model served as the conformance checks serve it, each body POSTed."""
    volume = client.volumes.create(labels=labels).name
    populate_volume(client, image, volume, model_dir, labels)
    server = ServingContainer(
        image, labels=labels, model_volume=volume, model_stage=model_dir, env={}, budget=contract.STARTUP_BUDGET_S
    )
    server.start()
    try:
        assert server.readiness.ready, f"the harness could not serve the SDK's model: {server.readiness.describe()}"
        answers = []
        for body in bodies:
            exchange = server.request(
                "POST", contract.INVOCATIONS_PATH, body=body, headers={"Content-Type": content_type}
            )
            assert exchange.status == 200, f"harness round trip: {exchange.describe()}\n{exchange.text}"
            answers.append(exchange.text)
        return answers
    finally:
        server.stop()


@pytest.mark.parametrize("name", IMAGES)
def test_local_mode_trains_deploys_predicts_and_transforms_as_the_harness_does(
    name: str, client: Any, sdk_python: Path, tmp_path: Path
) -> None:
    image = f"sagemaker-conformance/{name}:latest"
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        pytest.skip(f"image {image} is missing: run scripts/build-images.sh")
    spec = testdir.load(ROOT / "test-dirs" / name)
    content_type = spec.policy.content_type
    run_id = engine.new_run_id()
    # The harness's labels on every container and volume, the SDK's compose containers included (through
    # local mode's container_config), so that engine.cleanup removes them all, even after a failure.
    labels = engine.labels(run_id, "sdk-local-mode")
    work = tmp_path / "work"
    log = tmp_path / "local-mode.log"
    args = [image, str(spec.root), str(work), "--port", str(free_port()), "--labels", json.dumps(labels)]
    args += ["--content-type", content_type, "--payload", spec.policy.payload]

    with local_mode_turn(client):
        try:
            with aws_recorder() as (aws_endpoint, aws_requests):
                code = run_driver(sdk_python, args, offline_env(tmp_path / "home", aws_endpoint), log)
            assert code == 0, f"local mode failed (exit {code}); its output:\n{tail(log)}"
            assert aws_requests == [], f"local mode called AWS while offline: {aws_requests}"
            result = json.loads((work / "result.json").read_text())

            # The model the SDK's training job wrote, as SageMaker would hand it to the serving container.
            model_tar = Path(result["model_data"].removeprefix("file://"))
            model_dir = tmp_path / "model"
            with tarfile.open(model_tar) as archive:
                archive.extractall(model_dir, filter="data")
            records = spec.payload.splitlines(keepends=True)
            # One request with the whole payload (the endpoint and the MultiRecord mini-batch: 6 MB is far
            # more than the payload), then one per record (SingleRecord).
            whole, *singles = harness_answers(client, image, model_dir, [spec.payload, *records], content_type, labels)
        finally:
            engine.cleanup(client, run_id)

    expected_lines = whole.splitlines()
    assert len(expected_lines) == len(records), "the harness's own answer has one line per record"
    if spec.expected_output is not None:
        assert tuple(expected_lines) == spec.expected_output, "the SDK-trained model answers the test-dir's output"

    assert result["endpoint_status"] == "InService"
    # Local mode never looks at /invocations' status (LocalSagemakerRuntimeClient.invoke_endpoint hands back
    # any body, a 415's included, as the answer): equality with the harness's 200 answers is what proves
    # that each of the SDK's requests succeeded.
    assert result["prediction"] == whole, "predictor.predict() returns what the harness's /invocations returns"

    transforms = result["transform"]
    for strategy in STRATEGIES:
        job = transforms[strategy]
        assert (job["status"], job["batch_strategy"]) == ("Completed", strategy)
    # AssembleWith=Line: local mode writes each response followed by "\n", even a response that already ends
    # with one (the images end every record with "\n"), so the file is exactly that and SingleRecord output
    # has an empty line after every record. The empty lines separate responses; they are not records.
    assert transforms["MultiRecord"]["output"] == whole + "\n"
    assert transforms["SingleRecord"]["output"] == "".join(answer + "\n" for answer in singles)
    for strategy in STRATEGIES:
        lines = [line for line in transforms[strategy]["output"].split("\n") if line]
        assert lines == expected_lines, f"{strategy}: one output line per input record, in order"
