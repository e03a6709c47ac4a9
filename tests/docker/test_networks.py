"""Hosts and isolation as the harness gives them, against a real engine: the training run's hostname, its hosts
resolving on its own network (internal or not), no egress under isolation, and the probe that reaches a server
on an internal network from inside it (SRV-14)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance import contract
from conformance.targets.docker import engine
from conformance.targets.docker.netprobe import SERVER_ALIAS, NetworkProbe
from conformance.targets.docker.serving import ServingContainer
from conformance.targets.docker.training import TrainingRun

docker = pytest.importorskip("docker")

pytestmark = pytest.mark.docker

BASE = "sagemaker-conformance/base:bookworm-py3.11"
"""The local Debian base with python3: it stands for both the image under test and the probe here."""

TRAIN = """
import json, socket
seen = {"hostname": socket.gethostname()}
for host in HOSTS:
    try:
        seen[host] = socket.gethostbyname(host)
    except OSError as exc:
        seen[host] = "unresolved: %s" % exc
try:
    socket.create_connection(("151.101.0.223", 443), timeout=3).close()  # pypi.org's address: no DNS needed
    seen["egress"] = "yes"
except OSError as exc:
    seen["egress"] = "no: %s" % exc
with open("/opt/ml/model/hosts.json", "w") as out:
    json.dump(seen, out)
""".replace("HOSTS", repr(list(contract.HOSTS)))

SERVE = """
from http.server import BaseHTTPRequestHandler, HTTPServer
class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/ping" else 404)
        self.end_headers()
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", self.headers["Content-Type"])
        self.end_headers()
        self.wfile.write(body[::-1])
HTTPServer(("", 8080), Handler).serve_forever()
"""


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    engine_client = docker.from_env(timeout=60)
    try:
        engine_client.images.get(BASE)
    except docker.errors.ImageNotFound:
        pytest.fail(f"{BASE} is missing: run scripts/build-base.sh")
    yield engine_client
    engine_client.close()


@pytest.fixture
def run_id(client: Any) -> Iterator[str]:
    run = engine.new_run_id()
    yield run
    engine.cleanup(client, run)


def train(client: Any, run_id: str, tmp_path: Path, *, internal: bool) -> dict[str, str]:
    (tmp_path / "input" / "config").mkdir(parents=True)
    labels = engine.labels(run_id, "train-test")
    network = engine.create_network(client, labels, internal=internal)
    run = TrainingRun(BASE, stage=tmp_path, labels=labels, network=network, internal=internal)
    run.with_command(["python3", "-c", TRAIN])
    try:
        result = run.run_to_completion(120)
    finally:
        run.stop()
        engine.remove_network(client, network)
    assert result.exit_code == 0, result.logs
    seen: dict[str, str] = json.loads((result.model_dir / "hosts.json").read_text())
    return seen


@pytest.mark.parametrize("internal", [False, True], ids=["bridge", "internal"])
def test_training_hosts_resolve_and_the_hostname_is_not_current_host(
    client: Any, run_id: str, tmp_path: Path, internal: bool
) -> None:
    seen = train(client, run_id, tmp_path, internal=internal)
    assert seen["hostname"] != contract.CURRENT_HOST
    for host in contract.HOSTS:
        assert not seen[host].startswith("unresolved"), seen
    if internal:
        assert seen["egress"].startswith("no"), seen


def test_the_training_network_is_removed_after_the_run(client: Any, run_id: str, tmp_path: Path) -> None:
    train(client, run_id, tmp_path, internal=True)
    assert client.networks.list(filters={"label": f"{engine.RUN_LABEL}={run_id}"}) == []


def test_the_probe_reaches_a_server_on_an_internal_network(client: Any, run_id: str) -> None:
    network = engine.create_network(client, engine.labels(run_id, "isolated"), internal=True)
    probe = NetworkProbe(client, BASE, "python3", network, engine.labels(run_id, "probe")).start()
    server = ServingContainer(
        BASE,
        labels=engine.labels(run_id, "serve-isolated"),
        model_volume=None,
        model_stage=None,
        env={},
        budget=60,
        network=network,
        probe=probe,
    )
    server.with_command(["python3", "-c", SERVE])
    try:
        server.start()
        assert server.readiness.ready, server.readiness.describe()
        assert server.base_url() == f"http://{SERVER_ALIAS}:{contract.PORT}"
        exchange = server.request(
            "POST", contract.INVOCATIONS_PATH, body=b"1,2,3\n", headers={"Content-Type": "text/csv"}
        )
        assert exchange.status == 200, exchange.describe()
        assert exchange.body == b"\n3,2,1"
        assert exchange.media_type == "text/csv"
        missing = server.request("GET", "/nothing-here")
        assert missing.status == 404
    finally:
        server.stop()
        probe.remove()


def test_the_probe_reports_a_server_that_is_not_there(client: Any, run_id: str) -> None:
    network = engine.create_network(client, engine.labels(run_id, "isolated"), internal=True)
    probe = NetworkProbe(client, BASE, "python3", network, engine.labels(run_id, "probe")).start()
    try:
        exchange = probe.send("GET", SERVER_ALIAS, contract.PORT, contract.PING_PATH, timeout=5)
    finally:
        probe.remove()
    assert exchange.status is None
    assert exchange.error is not None
    assert "gaierror" in exchange.error
