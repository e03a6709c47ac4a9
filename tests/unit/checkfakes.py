"""Fakes for running the real checks without Docker.

A check sees its image through :class:`conformance.context.CheckContext` and the Protocols of
:mod:`conformance.targets`; here the real :class:`conformance.sharing.Certification` (the sharing and cascade rules)
runs over a :class:`FakeTarget`, which implements :class:`conformance.targets.Target` by answering ``train``,
``server`` and ``files`` from a :class:`FakeImage`: a small, scripted model of an image (its config, its files, how
it trains and how it serves). :class:`GoodImage` behaves as the contract asks in every respect; each unit test breaks
exactly one behaviour and expects exactly one clause to fail. Only the harness's pure logic is exercised here: the
Docker side has its own tests.

This module is the image model (:class:`FakeImage`, :class:`GoodImage`, test-dirs, training results); its siblings are
the server (``fakeserver.py``), the target, certification and engine (``faketarget.py``), and the images that break
one thing each (``fakeimages.py``; the environment clauses' in ``fakeenv.py``, ENV-3's races in ``fakeenv3.py``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conformance import contract, procs
from conformance.entrypoint import ArgumentProbe
from conformance.http import Exchange
from conformance.opt_ml import TrainSpec
from conformance.pid1 import StopResult
from conformance.procs import Process
from conformance.targets import ServeSpec
from conformance.targets.results import EngineInfo, ImageInfo, TrainResult
from conformance.testdir import TestDir
from conformance.testdir import load as load_test_dir
from conformance.websocket import WebSocketError
from conformance.wire import Streamed

from .fakeserver import FakeServer, Response, parse_csv

if TYPE_CHECKING:
    from .fakegenerative import FakeWebSocket

ENGINE = EngineInfo(
    name="Fake", version="27.0.0", api_version="1.46", os="linux", architecture="x86_64", cpus=2, host="fake://"
)


IMAGE_PATH = ("/opt/program", "/usr/local/bin", "/usr/bin", "/bin")


PAYLOAD = b"5.1,3.5,1.4,0.2\n6.2,2.9,4.3,1.3\n7.7,3.0,6.1,2.3\n"


GUNICORN = (
    "/usr/local/bin/python /usr/local/bin/gunicorn --timeout {timeout} -k sync -b unix:/tmp/gunicorn.sock "
    "-w {workers} wsgi:app"
)


NGINX_CONF = """
worker_processes 1;
events { worker_connections 1024; }
http {
  upstream gunicorn { server unix:/tmp/gunicorn.sock; }
  server {
    listen 8080 deferred;
    client_max_body_size 6m;
    keepalive_timeout 5;
    proxy_read_timeout {timeout}s;
    location ~ ^/(ping|invocations) {
      proxy_set_header Host $http_host;
      proxy_redirect off;
      proxy_pass http://gunicorn;
    }
    location / { return 404 "{}"; }
  }
}
"""


def image_info(**changes: Any) -> ImageInfo:
    """An image config as ``docker image inspect`` would give it: no ENTRYPOINT, linux/amd64."""
    info = ImageInfo(
        reference="example.com/team/model:1.0",
        id="sha256:" + "ab" * 32,
        digests=(),
        os="linux",
        architecture="amd64",
        variant="",
        entrypoint=None,
        cmd=None,
        env=("PATH=" + ":".join(IMAGE_PATH), "PYTHONUNBUFFERED=1"),
        labels={},
        user="",
        exposed_ports=("8080/tcp",),
        size=1,
    )
    return replace(info, **changes)


def write_test_dir(
    root: Path,
    *,
    policy: str | None = None,
    hyperparameters: str | None = '{"max_depth": "3"}',
    channels: Mapping[str, Mapping[str, bytes]] | None = None,
    payload: bytes | None = PAYLOAD,
    extra: Mapping[str, bytes] | None = None,
) -> Path:
    """A test-dir tree under ``root``; ``None`` leaves a part out."""
    root.mkdir(parents=True, exist_ok=True)
    if hyperparameters is not None:
        config = root / "input" / "config"
        config.mkdir(parents=True, exist_ok=True)
        (config / contract.HYPERPARAMETERS_FILE).write_text(hyperparameters)
    for channel, files in (channels if channels is not None else {"training": {"iris.csv": PAYLOAD}}).items():
        directory = root / "input" / "data" / channel
        directory.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (directory / name).parent.mkdir(parents=True, exist_ok=True)
            (directory / name).write_bytes(data)
    if payload is not None:
        (root / "payload.csv").write_bytes(payload)
    if policy is not None:
        (root / "conformance.toml").write_text(policy)
    for name, data in (extra or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def trained(spec: str = "default", **changes: Any) -> TrainResult:
    """A successful training run: exit 0, a model, no failure file."""
    result = TrainResult(
        spec=f"train-{spec}",
        exit_code=0,
        timed_out=False,
        seconds=2.5,
        logs="training... done\n",
        model_files={"model.pkl": 1234},
        failure=None,
        model_dir=Path("/nonexistent/model"),
        reproduce=(f"docker run --rm --network smc-net --network-alias algo-1 IMAGE train  # {spec}",),
    )
    return replace(result, **changes)


def failed(spec: str = "empty-channel", **changes: Any) -> TrainResult:
    """A cleanly failed training run: exit 1 and a failure file that states the cause first."""
    defaults: dict[str, Any] = {"exit_code": 1, "model_files": {}, "failure": "Channel training holds no CSV files.\n"}
    return trained(spec, **{**defaults, **changes})


@dataclass
class FakeImage:
    """A scripted image: config, files, training runs and a server. Subclasses break one thing each."""

    info: ImageInfo = field(default_factory=image_info)
    executables: frozenset[str] = frozenset({"/opt/program/train", "/opt/program/serve"})
    baked: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Files under each replaced directory; each is 1 KiB unless ``baked_sizes`` says otherwise."""
    baked_sizes: Mapping[str, int] = field(default_factory=dict)
    contents: Mapping[str, bytes] = field(default_factory=dict)
    """Files the checks read from the image without running it (IMG-4's /etc/passwd)."""
    width: int = 4
    cpus: int = ENGINE.cpus

    # training: ``input_dir`` is the staged /opt/ml/input the container would see
    def train(self, spec: TrainSpec, sigterm_after: float | None, input_dir: Path) -> TrainResult:
        if sigterm_after is not None:
            return trained(spec.name, exit_code=143, stop=StopResult(contract.TRAIN_STOP_GRACE_S, 1.1, 143, False))
        if spec.channels == "empty":
            return failed(spec.name)
        return trained(spec.name)

    # IMG-1's probe of a wrapper ENTRYPOINT: by default the wrapper passes the argument through (`exec "$@"`)
    passes_arguments: bool = True

    def probe(self, argument: str) -> ArgumentProbe:
        via = f"the stub `{argument}` on PATH, which reported: /smc-entrypoint-probe/{argument} 0:"
        return ArgumentProbe(
            argument,
            reached=self.passes_arguments,
            via=via if self.passes_arguments else "",
            seconds=0.8,
            exit_code=0,
            logs="",
            processes=("/bin/bash -c exec /opt/program/entrypoint.sh --",),
            reproduce=(f"docker run --rm IMAGE {argument}",),
            other="" if self.passes_arguments else ("serve" if argument == "train" else "train"),
        )

    # serving
    def serve(self, spec: ServeSpec) -> FakeServer:
        if spec.model == "empty":
            return FakeServer(
                self,
                spec,
                ready=False,
                answered=True,
                exited=True,
                exit_code=1,
                logs="FileNotFoundError: /opt/ml/model/model.pkl\n",
            )
        workers = int(spec.env.get(contract.MODEL_SERVER_WORKERS_ENV, self.cpus))
        timeout = int(spec.env.get(contract.MODEL_SERVER_TIMEOUT_ENV, contract.DEFAULT_MODEL_SERVER_TIMEOUT_S))
        return FakeServer(
            self,
            spec,
            processes=self.process_table(workers, timeout),
            files={"/etc/nginx/nginx.conf": self.nginx_conf(timeout).encode()},
        )

    def process_table(self, workers: int, timeout: int) -> list[Process]:
        table = [
            Process(1, 0, "/usr/local/bin/python /opt/program/serve"),
            Process(7, 1, "nginx: master process nginx -c /etc/nginx/nginx.conf"),
            Process(8, 1, GUNICORN.format(timeout=timeout, workers=workers)),
            Process(9, 7, "nginx: worker process"),
        ]
        table += [Process(20 + n, 8, GUNICORN.format(timeout=timeout, workers=workers)) for n in range(workers)]
        return table

    def nginx_conf(self, timeout: int) -> str:
        return NGINX_CONF.replace("{timeout}", str(timeout))

    # What the container shows from inside (the typed operations of conformance.targets.Server).
    def cpu_count(self, server: FakeServer) -> int | None:
        return self.cpus

    def nginx_config(self, server: FakeServer, path: str) -> str | None:
        config = server.read_file(path)
        return config.decode() if config is not None else None

    def listening_sockets(self, server: FakeServer) -> list[str] | None:
        return procs.listening_sockets(PROC_NET_TCP_ALL)

    def inside_processes(self, server: FakeServer) -> list[Process] | None:
        return list(server.processes()) or None

    def signal(self, server: FakeServer, pids: Sequence[int], name: str) -> bool:
        server.frozen = server.frozen | set(pids) if name == "STOP" else server.frozen - set(pids)
        return True

    def memory_events(self, server: FakeServer) -> str | None:
        return None

    def cpu_waits(self, server: FakeServer) -> dict[str, float] | None:
        return {"1/1 gunicorn": server.cpu_waited}

    closes_kept_alive: bool = False
    """Closes every connection after its answer without ``Connection: close`` (uWSGI's plain --http-socket)."""

    def streamed(self, server: FakeServer, exchange: Exchange) -> Streamed:
        """The answer as it arrives on the wire: by default whole, with a Content-Length, at its elapsed time."""
        parts = ((exchange.elapsed, exchange.body),) if exchange.body else ()
        return Streamed(exchange, parts, chunked=False, version="HTTP/1.1")

    def handle(self, server: FakeServer, method: str, path: str, body: bytes, headers: Mapping[str, str]) -> Response:
        if path == contract.PING_PATH and method == "GET":
            return self.ping(server)
        if path == contract.INVOCATIONS_PATH and method == "POST" and server.frozen:
            return self.frozen_invoke(server, body, headers)
        if path == contract.INVOCATIONS_PATH and method == "POST":
            with server.lock:
                server.in_flight += 1
            try:
                return self.invoke(server, body, headers)
            finally:
                with server.lock:
                    server.in_flight -= 1
        if path == contract.EXECUTION_PARAMETERS_PATH:
            return self.execution_parameters(server)
        return Response(404, b"not found", "text/plain")

    def ping(self, server: FakeServer) -> Response:
        return Response(200, b"", None)

    def websocket(self, server: FakeServer, path: str) -> FakeWebSocket:
        """No WebSocket route: the upgrade gets the HTTP answer an ASGI server gives an unknown one."""
        raise WebSocketError("HTTP/1.1 404 Not Found instead of 101 Switching Protocols: b'not found'")

    def execution_parameters(self, server: FakeServer) -> Response:
        return Response(404, b"", "text/plain")

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        if media != contract.CSV:
            return Response(415, f"unsupported content type {media}".encode(), "text/plain")
        accept = headers.get("accept", "").split(";")[0].strip().lower()
        if accept not in ("", contract.ANY_MEDIA_TYPE, contract.CSV):
            return Response(406, f"cannot answer {accept}".encode(), "text/plain")
        table = parse_csv(body, self.width)
        if table is None:
            return Response(400, b"expected rows of numbers", "text/plain")
        return Response(200, self.predict(table), "text/csv")

    def predict(self, table: list[list[float]]) -> bytes:
        return "".join(f"{sum(row):.4f}\n" for row in table).encode()

    def frozen_invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        """An invocation while workers are stopped, as gunicorn handles it: the arbiter kills workers silent for
        longer than the master's --timeout about a second later, and a fresh worker answers the queued request."""
        master = procs.count_workers(server.processes()).master
        timeout = procs.server_timeout(master) if master is not None else None
        if timeout is None or timeout + 2.0 > server.client_timeout:
            return Response(504, b"", "text/plain", elapsed=3600.0)  # nobody gives up while the client waits
        server.replace_processes(set(server.frozen))
        return replace(self.invoke(server, body, headers), elapsed=timeout + 2.0)


@dataclass
class GoodImage(FakeImage):
    """Keeps every clause of the contract."""


# /proc/net/tcp as a container shows it: the server on 127.0.0.1:8080 only, plus a 0.0.0.0:22 listener.
PROC_NET_TCP_LOOPBACK = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 41131 1 0000000000000000 100 0 0 10 0
   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 41132 1 0000000000000000 100 0 0 10 0
   2: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 41133 1 0000000000000000 20 4 30 10 -1
"""  # noqa: E501  (recorded as the kernel prints it)


PROC_NET_TCP_ALL = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 41131 1 0000000000000000 100 0 0 10 0
"""  # noqa: E501


PROC_NET_TCP6_ALL = """\
  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 51212 1 0000000000000000 100 0 0 10 0
"""  # noqa: E501


def serverless_test_dir(root: Path, memory_mb: int = 1024) -> TestDir:
    """A test-dir whose policy declares a serverless deployment of ``memory_mb``."""
    return load_test_dir(write_test_dir(root, policy=f"[serverless]\nmemory_mb = {memory_mb}\n"))


ROWS = [[5.1, 3.5, 1.4, 0.2], [6.2, 2.9, 4.3, 1.3], [7.7, 3.0, 6.1, 2.3]]


JSON_POLICY = 'content_type = "application/json"\naccept = "application/json"\npayload = "payload.json"\n'


JSONL_POLICY = 'content_type = "application/jsonlines"\npayload = "payload.jsonl"\n'


def json_test_dir(tmp_path: Path, policy: str = JSON_POLICY, payload: bytes | None = None) -> Path:
    body = payload if payload is not None else json.dumps({"instances": ROWS}).encode()  # one line, three records
    return write_test_dir(tmp_path / "td", policy=policy, payload=None, extra={"payload.json": body})


def jsonl_test_dir(tmp_path: Path) -> Path:
    body = "".join(json.dumps({"features": row}) + "\n" for row in ROWS).encode()
    return write_test_dir(tmp_path / "td", policy=JSONL_POLICY, payload=None, extra={"payload.jsonl": body})
