"""Smoke test of the two reference images: train on the test-dir, serve the model, check the answers.

Needs a Docker engine and the images (scripts/build-images.sh); SMC_IMAGE_PREFIX=P tests P/<name>:latest
instead of sagemaker-conformance/<name>:latest, as scripts/build-images.sh tags them with the same variable.
Every container is labelled `sagemaker-conformance=1` and removed at the end; nothing is bind-mounted from
the host: the test-dir and the model are copied in with put_archive before the container starts, and results
are read back with get_archive. One trained model per image is reused by the serving tests (module-scoped fixture).
"""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

docker = pytest.importorskip("docker")

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
TEST_DIRS = ROOT / "test-dirs"
IMAGES = ["decision_trees", "catboost"]
PREFIX = os.environ.get("SMC_IMAGE_PREFIX", "sagemaker-conformance")
# The MetricDefinitions regexes documented in reference_images/README.md.
METRIC_REGEXES = {
    "decision_trees": [r"train:accuracy=([0-9.eE+-]+);"],
    "catboost": [r"validation:rmse=([0-9.eE+-]+);", r"validation:mae=([0-9.eE+-]+);"],
}
MODEL_FILES = {"decision_trees": "decision-tree-model.pkl", "catboost": "catboost-regressor-model.cbm"}
LABELS = {"sagemaker-conformance": "1"}
TRAIN_TIMEOUT_S = 180
PING_BUDGET_S = 60


def tar_of(files: Mapping[str, bytes], dirs: tuple[str, ...] = ()) -> bytes:
    """A tar archive of in-memory files and empty directories (paths relative to where it is extracted)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name in dirs:
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            archive.addfile(info)
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    try:
        engine = docker.from_env()
        engine.ping()
    except Exception as exc:  # no engine: every test here is skipped, with the reason
        pytest.skip(f"no Docker engine ({exc}); run scripts/ensure-docker.sh")
    yield engine
    engine.close()


def image_ref(client: Any, name: str) -> str:
    ref = f"{PREFIX}/{name}:latest"
    try:
        client.images.get(ref)
    except docker.errors.ImageNotFound:
        pytest.skip(f"image {ref} is missing: run scripts/build-images.sh")
    return ref


# --------------------------------------------------------------------------------------------------
# Moving files in and out of containers
# --------------------------------------------------------------------------------------------------
def opt_ml_tar(test_dir: Path, *, with_training_data: bool = True) -> bytes:
    """The test-dir's `input/` as a fresh /opt/ml tree (extracted at /opt), plus empty model/ and output/."""
    files = {}
    for path in sorted((test_dir / "input").rglob("*")):
        if path.is_file() and (with_training_data or "data" not in path.relative_to(test_dir).parts):
            files[f"ml/{path.relative_to(test_dir).as_posix()}"] = path.read_bytes()
    dirs = ("ml", "ml/input", "ml/input/config", "ml/input/data", "ml/input/data/training", "ml/model", "ml/output")
    return tar_of(files, dirs)


def read_dir(container: Any, path: str) -> dict[str, bytes]:
    """Regular files under `path` in a (stopped) container, keyed by their path relative to it."""
    try:
        stream, _ = container.get_archive(path)
    except docker.errors.NotFound:
        return {}
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        out = {}
        for member in tar.getmembers():
            extracted = tar.extractfile(member) if member.isfile() else None
            if extracted is not None:
                out[member.name.split("/", 1)[1] if "/" in member.name else member.name] = extracted.read()
        return out


@dataclass
class TrainResult:
    exit_code: int
    logs: str
    model: dict[str, bytes]
    failure: str | None


def run_train(client: Any, image: str, archive: bytes, network_mode: str | None = None) -> TrainResult:
    container = client.containers.create(
        image, command=["train"], labels=LABELS, network_mode=network_mode, hostname="algo-1"
    )
    try:
        container.put_archive("/opt", archive)
        container.start()
        try:
            status = container.wait(timeout=TRAIN_TIMEOUT_S)
        except requests.exceptions.RequestException:
            container.kill()
            pytest.fail(f"train did not finish within {TRAIN_TIMEOUT_S} s")
        failure = read_dir(container, "/opt/ml/output").get("failure")
        return TrainResult(
            exit_code=int(status["StatusCode"]),
            logs=container.logs().decode("utf-8", "replace"),
            model=read_dir(container, "/opt/ml/model"),
            failure=failure.decode("utf-8", "replace") if failure is not None else None,
        )
    finally:
        container.remove(force=True)


# --------------------------------------------------------------------------------------------------
# Fixtures: one trained model and one serving container per image
# --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module", params=IMAGES)
def trained(request: pytest.FixtureRequest, client: Any) -> tuple[str, TrainResult]:
    name = request.param
    result = run_train(client, image_ref(client, name), opt_ml_tar(TEST_DIRS / name))
    return name, result


@dataclass
class Server:
    name: str
    url: str
    container: Any


@pytest.fixture(scope="module")
def server(client: Any, trained: tuple[str, TrainResult]) -> Iterator[Server]:
    name, result = trained
    if result.exit_code != 0 or not result.model:
        pytest.fail(f"cannot serve: train failed (exit {result.exit_code})\n{result.logs[-2000:]}")
    # The model goes in before start, as SageMaker extracts model.tar.gz before the container starts.
    archive = tar_of({f"ml/model/{k}": v for k, v in result.model.items()}, dirs=("ml", "ml/model"))
    container = client.containers.create(
        image_ref(client, name), command=["serve"], labels=LABELS, ports={"8080/tcp": ("127.0.0.1", None)}
    )
    try:
        container.put_archive("/opt", archive)
        container.start()
        url = wait_for_ping(container)
        yield Server(name, url, container)
    finally:
        container.remove(force=True)


def wait_for_ping(container: Any) -> str:
    deadline = time.monotonic() + PING_BUDGET_S
    while time.monotonic() < deadline:
        container.reload()
        if container.status != "running":
            pytest.fail(f"serve exited before answering /ping:\n{container.logs().decode()[-3000:]}")
        bindings = container.attrs["NetworkSettings"]["Ports"].get("8080/tcp") or []
        if bindings:
            url = f"http://127.0.0.1:{bindings[0]['HostPort']}"
            try:
                if requests.get(f"{url}/ping", timeout=2).status_code == 200:
                    return url
            except requests.exceptions.RequestException:
                pass
        time.sleep(0.1)
    pytest.fail(f"/ping did not answer 200 within {PING_BUDGET_S} s:\n{container.logs().decode()[-3000:]}")


# --------------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------------
def test_train_writes_a_model(trained: tuple[str, TrainResult]) -> None:
    name, result = trained
    assert result.exit_code == 0, result.logs[-3000:]
    assert MODEL_FILES[name] in result.model, f"model files: {sorted(result.model)}"
    assert result.model[MODEL_FILES[name]], "the model file is empty"
    assert not any(k.startswith(".partial-") for k in result.model), "a temporary model file was left behind"
    assert result.failure is None, f"success left a failure file: {result.failure}"


def test_the_decision_tree_model_is_the_scikit_learn_estimator(client: Any) -> None:
    """The model file is the fitted estimator as scikit-learn users save it (joblib), not a format of our own."""
    result = run_train(client, image_ref(client, "decision_trees"), opt_ml_tar(TEST_DIRS / "decision_trees"))
    assert result.exit_code == 0, result.logs[-3000:]
    archive = tar_of({f"ml/model/{k}": v for k, v in result.model.items()}, dirs=("ml", "ml/model"))
    script = (
        "import joblib; model = joblib.load('/opt/ml/model/decision-tree-model.pkl'); "
        "print(type(model).__module__, type(model).__name__, model.n_features_in_)"
    )
    container = client.containers.create(
        image_ref(client, "decision_trees"), command=["python3", "-c", script], labels=LABELS
    )
    try:
        container.put_archive("/opt", archive)
        container.start()
        assert container.wait(timeout=120)["StatusCode"] == 0, container.logs().decode()[-3000:]
        assert container.logs(stderr=False).decode().split() == ["sklearn.tree._classes", "DecisionTreeClassifier", "4"]
    finally:
        container.remove(force=True)


def test_train_logs_metric_lines(trained: tuple[str, TrainResult]) -> None:
    name, result = trained
    for regex in METRIC_REGEXES[name]:
        assert re.search(regex, result.logs), f"no match for {regex!r} in:\n{result.logs[-2000:]}"


def test_serve_answers_the_payload(server: Server) -> None:
    payload = (TEST_DIRS / server.name / "payload.csv").read_bytes()
    response = requests.post(
        f"{server.url}/invocations", data=payload, headers={"Content-Type": "text/csv"}, timeout=30
    )
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/csv")
    lines = response.text.splitlines()
    assert len(lines) == len(payload.decode().splitlines())
    expected = TEST_DIRS / server.name / "expected_output.csv"
    if expected.exists():
        assert response.text == expected.read_text()
    else:
        assert all(float(line) == float(line) for line in lines)  # floats, no NaN
    again = requests.post(f"{server.url}/invocations", data=payload, headers={"Content-Type": "text/csv"}, timeout=30)
    assert again.text == response.text, "the same payload gave a different answer"


def test_serve_rejects_bad_input_and_stays_healthy(server: Server) -> None:
    url = f"{server.url}/invocations"
    assert requests.post(url, data=b"1,2", headers={"Content-Type": "application/json"}, timeout=10).status_code == 415
    wrong_width = requests.post(url, data=b"1,2\n", headers={"Content-Type": "text/csv"}, timeout=10)
    assert wrong_width.status_code == 400
    assert "expected" in wrong_width.text
    assert requests.post(url, data=b"", headers={"Content-Type": "text/csv"}, timeout=10).status_code == 400
    assert requests.get(f"{server.url}/ping", timeout=2).status_code == 200
    payload = (TEST_DIRS / server.name / "payload.csv").read_bytes()
    ok = requests.post(url, data=payload, headers={"Content-Type": "text/csv; charset=utf-8"}, timeout=30)
    assert ok.status_code == 200
    params = requests.get(f"{server.url}/execution-parameters", timeout=5)
    assert params.status_code == 200
    body = json.loads(params.text)
    assert body["MaxConcurrentTransforms"] * body["MaxPayloadInMB"] <= 100


@pytest.mark.parametrize("name", IMAGES)
def test_empty_training_channel_fails_with_a_cause(client: Any, name: str) -> None:
    result = run_train(client, image_ref(client, name), opt_ml_tar(TEST_DIRS / name, with_training_data=False))
    assert result.exit_code != 0
    assert result.failure, "no /opt/ml/output/failure"
    cause = result.failure[:1024]
    assert "channel 'training'" in cause, cause
    assert "no CSV records" in cause, cause
    assert not result.model, f"a failed run left model files: {sorted(result.model)}"


@pytest.mark.parametrize("name", IMAGES)
def test_train_without_network(client: Any, name: str) -> None:
    result = run_train(client, image_ref(client, name), opt_ml_tar(TEST_DIRS / name), network_mode="none")
    assert result.exit_code == 0, result.logs[-3000:]
    assert MODEL_FILES[name] in result.model
