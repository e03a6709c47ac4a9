"""The probe's own logic without Docker: its answers read back into Exchanges, the interpreter it needs, the
client script run by a real python3, and the networks the harness names and labels."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from conformance.targets.docker import engine, netprobe
from conformance.targets.docker.networks import reproduce_network

from .faketarget import FakeFiles


def answer(**fields: Any) -> str:
    return json.dumps(fields)


def test_an_answer_becomes_an_exchange() -> None:
    output = answer(
        status=200,
        reason="OK",
        headers=[["Content-Type", "text/csv"], ["Set-Cookie", "a=1"], ["Set-Cookie", "b=2"]],
        body=base64.b64encode(b"0.5\n").decode(),
        elapsed=0.012,
    )
    exchange = netprobe.exchange_from(
        output, method="POST", url="http://model-server:8080/invocations", headers={"A": "1"}, body=b"1,2\n"
    )
    assert exchange.status == 200
    assert exchange.describe() == "200 OK"
    assert exchange.body == b"0.5\n"
    assert exchange.media_type == "text/csv"
    assert exchange.headers["set-cookie"] == "a=1, b=2"  # joined as requests joins repeated headers
    assert exchange.elapsed == pytest.approx(0.012)
    assert exchange.request_body == b"1,2\n"
    assert exchange.url == "http://model-server:8080/invocations"


def test_a_transport_error_has_no_status() -> None:
    output = answer(error="ConnectionRefusedError: [Errno 111] Connection refused", elapsed=0.001)
    exchange = netprobe.exchange_from(output, method="GET", url="http://model-server:8080/ping", headers={}, body=b"")
    assert exchange.status is None
    assert exchange.describe() == "no HTTP response (ConnectionRefusedError: [Errno 111] Connection refused)"


def test_output_that_is_not_an_answer_is_reported() -> None:
    output = "OCI runtime exec failed: exec failed: unable to start container process"
    exchange = netprobe.exchange_from(output, method="GET", url="http://model-server:8080/ping", headers={}, body=b"")
    assert exchange.status is None
    assert exchange.error == f"the probe container gave no answer: {output}"
    empty = netprobe.exchange_from("", method="GET", url="u", headers={}, body=b"")
    assert empty.error == "the probe container gave no answer: (no output)"


def test_the_interpreter_is_python3_on_the_image_path() -> None:
    path = ("/opt/conda/bin", "/usr/bin")
    assert netprobe.interpreter(FakeFiles({"/opt/conda/bin/python3"}, {}), path) == "/opt/conda/bin/python3"
    assert netprobe.interpreter(FakeFiles({"/usr/local/bin/python3"}, {}), path) is None
    assert netprobe.interpreter(FakeFiles({"/usr/bin/python"}, {}), path) is None


def test_the_body_archive_is_readable_by_any_user() -> None:
    with tarfile.open(fileobj=io.BytesIO(netprobe._tar("smc-probe/body-1", b"abc"))) as archive:
        folder, body = archive.getmembers()
    assert (folder.name, folder.isdir(), folder.mode) == ("smc-probe", True, 0o755)
    assert (body.name, body.size, body.mode) == ("smc-probe/body-1", 3, 0o644)


@pytest.fixture
def echo_server() -> Iterator[int]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            data = self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(201, "Made")
            self.send_header("Content-Type", self.headers["Content-Type"])
            self.end_headers()
            self.wfile.write(data.upper())

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


def test_the_client_script_speaks_http(echo_server: int, tmp_path: Path) -> None:
    # The same script the probe runs in the image, here run by this interpreter against a local server.
    (tmp_path / "body").write_bytes(b"a,b\n")
    request = {
        "method": "POST",
        "host": "127.0.0.1",
        "port": echo_server,
        "path": "/invocations",
        "headers": {"Content-Type": "text/csv"},
        "timeout": 10,
        "body": str(tmp_path / "body"),
    }
    done = subprocess.run(
        [sys.executable, "-I", "-c", netprobe.CLIENT, json.dumps(request)], capture_output=True, check=True, timeout=30
    )
    exchange = netprobe.exchange_from(
        done.stdout.decode(), method="POST", url="http://x/invocations", headers={}, body=b"a,b\n"
    )
    assert exchange.describe() == "201 Made"
    assert exchange.body == b"A,B\n"
    assert exchange.media_type == "text/csv"


def test_the_client_script_reports_a_refused_connection(tmp_path: Path) -> None:
    request = {"method": "GET", "host": "127.0.0.1", "port": 9, "path": "/ping", "headers": {}, "timeout": 5}
    done = subprocess.run(
        [sys.executable, "-I", "-c", netprobe.CLIENT, json.dumps({**request, "body": None})],
        capture_output=True,
        check=True,
        timeout=30,
    )
    exchange = netprobe.exchange_from(done.stdout.decode(), method="GET", url="u", headers={}, body=b"")
    assert exchange.status is None
    assert exchange.error is not None
    assert exchange.error.startswith("ConnectionRefusedError")


class FakeNetworks:
    def __init__(self) -> None:
        self.created: list[tuple[str, dict[str, Any]]] = []

    def create(self, name: str, **kwargs: Any) -> None:
        self.created.append((name, kwargs))


class FakeClient:
    def __init__(self) -> None:
        self.networks = FakeNetworks()


def test_networks_are_named_and_labelled_for_their_run() -> None:
    client = FakeClient()
    labels = engine.labels("0123456789ab", "train-defaults-and-extra-keys")
    first = engine.create_network(client, labels, internal=True)  # type: ignore[arg-type]
    second = engine.create_network(client, labels, internal=False)  # type: ignore[arg-type]
    assert first.startswith("smc-0123456789ab-train-defaults-and-extra-keys-")
    assert first != second
    (name, kwargs), (_, other) = client.networks.created
    assert name == first
    assert kwargs == {"driver": "bridge", "internal": True, "labels": labels}
    assert other["internal"] is False
    assert kwargs["labels"][engine.RUN_LABEL] == "0123456789ab"  # cleanup and reaping find it by this label


def test_the_reproduced_network_is_created_once() -> None:
    assert reproduce_network("smc-net-internal", True) == (
        "docker network inspect smc-net-internal >/dev/null 2>&1 || docker network create --internal smc-net-internal"
    )
    assert reproduce_network("smc-net", False).endswith("|| docker network create smc-net")
