"""Fakes for running the real checks without Docker.

A check sees its image through :class:`conformance.context.CheckContext` and the Protocols of
:mod:`conformance.targets`; here the real :class:`conformance.sharing.Certification` (the sharing and cascade rules)
runs over a :class:`FakeTarget`, which implements :class:`conformance.targets.Target` by answering ``train``,
``server`` and ``files`` from a :class:`FakeImage`: a small, scripted model of an image (its config, its files, how
it trains and how it serves). :class:`GoodImage` behaves as the contract asks in every respect; each unit test breaks
exactly one behaviour and expects exactly one clause to fail. Only the harness's pure logic is exercised here: the
Docker side has its own tests.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import json
import math
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import conformance.report
from conformance import contract, procs
from conformance.clock import Clock, VirtualClock
from conformance.engine import EngineInfo, ImageInfo
from conformance.entrypoint import ArgumentProbe
from conformance.fairness import Host, Load
from conformance.http import Exchange
from conformance.imagefs import PathStat
from conformance.opt_ml import TrainSpec, stage_input
from conformance.pid1 import StopResult
from conformance.procs import Process
from conformance.registry import REGISTRY, clauses
from conformance.runner import Outcome, run_clause
from conformance.sharing import Certification, Options
from conformance.targets import Capabilities, ServeSpec
from conformance.targets.results import Readiness, TrainResult
from conformance.testdir import TestDir
from conformance.testdir import load as load_test_dir
from conformance.timeline import SERVING, TRAINING, Timeline

PING_200 = Exchange("GET", "http://fake:8080/ping", {}, b"", 200, "OK", {}, b"", 0.002)
"""The first 200 on /ping of a fake server that became ready."""
ENGINE = EngineInfo(version="27.0.0", api_version="1.46", os="linux", architecture="x86_64", cpus=2, host="fake://")
IMAGE_PATH = ("/opt/program", "/usr/local/bin", "/usr/bin", "/bin")
PAYLOAD = b"5.1,3.5,1.4,0.2\n6.2,2.9,4.3,1.3\n7.7,3.0,6.1,2.3\n"
REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    413: "Request Entity Too Large",
    406: "Not Acceptable",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
    503: "Service Unavailable",
}

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


# --- serving ------------------------------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = "text/csv"
    elapsed: float = 0.002


class FakeServer:
    """A serving container as the checks see it: readiness, HTTP, process table, files, stop."""

    def __init__(
        self,
        image: FakeImage,
        spec: ServeSpec,
        *,
        ready: bool = True,
        answered: bool | None = None,
        exited: bool = False,
        exit_code: int | None = None,
        processes: Sequence[Process] = (),
        files: Mapping[str, bytes] | None = None,
        logs: str = "[INFO] Booting worker with pid: 12\n",
        stop: StopResult | None = None,
    ) -> None:
        self.image = image
        self.spec = spec
        self.readiness = Readiness(
            ready=ready,
            seconds=1.25 if ready else None,
            last=PING_200 if ready else None,
            answered=ready if answered is None else answered,
            exited=exited,
            exit_code=exit_code,
            budget=60.0,
        )
        self.alive = not exited
        self._exit_code = exit_code
        self._processes = list(processes)
        self._files = dict(files or {})
        self._logs = logs
        self._stop = stop or StopResult(grace=contract.SERVE_STOP_GRACE_S, seconds=0.4, exit_code=0, killed=False)
        self.in_flight = 0
        self.watching = False
        """Started without waiting for its /ping, and not yet waited for (await_ready)."""
        self.frozen: set[int] = set()  # PIDs stopped with `kill -STOP` (ENV-3)
        self.client_timeout = 70.0  # the latest request's: what happens after it, the client never sees
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str, bytes, dict[str, str]]] = []
        self.health_checks = 0
        """Quick pings the certification sent before sharing this server with another check."""
        self.oom = False
        """State.OOMKilled, as the engine reports it."""
        self.oom_kills = 0
        """The kernel's oom_kill count in the container's cgroup."""
        self.clock: Clock = VirtualClock()
        """The target's clock (FakeTarget.server sets it), which each exchange moves by its elapsed time."""
        self.cpu_waited = 0.0
        """Seconds the container's tasks have waited for a CPU (schedstat): a busy host's images add to it."""

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        session: object = None,
        payload_file: Path | None = None,
    ) -> Exchange:
        return self._exchange(method, path, body, dict(headers or {}), payload_file, timeout or 70.0)

    def _exchange(
        self, method: str, path: str, body: bytes, sent: dict[str, str], payload_file: Path | None, timeout: float
    ) -> Exchange:
        url = f"http://127.0.0.1:32768{path}"
        with self.lock:
            self.requests.append((method, path, body, sent))
        if not self.alive:
            return Exchange(
                method,
                url,
                sent,
                body,
                None,
                "",
                {},
                b"",
                0.001,
                error="ConnectionError: connection refused",
                payload_file=payload_file,
            )
        self.client_timeout = timeout
        response = self.image.handle(self, method, path, body, {k.lower(): v for k, v in sent.items()})
        self.clock.sleep(min(response.elapsed, timeout))  # the exchange takes its time, on the target's clock
        if response.elapsed > timeout:
            return Exchange(
                method,
                url,
                sent,
                body,
                None,
                "",
                {},
                b"",
                timeout,
                error=f"ReadTimeout: read timed out. (read timeout={timeout})",
                payload_file=payload_file,
            )
        answer_headers = {"content-length": str(len(response.body))}
        if response.content_type:
            answer_headers["content-type"] = response.content_type
        return Exchange(
            method,
            url,
            sent,
            body,
            response.status,
            REASONS.get(response.status, ""),
            answer_headers,
            response.body,
            response.elapsed,
            payload_file=payload_file,
        )

    def running(self) -> bool:
        return self.alive

    def await_ready(self) -> FakeServer:
        self.watching = False
        return self

    def stop(self) -> None:
        self.alive = False

    def healthy(self) -> bool:
        self.health_checks += 1
        return self.request("GET", contract.PING_PATH, timeout=5).status == 200

    def exit_code(self) -> int | None:
        return None if self.alive else self._exit_code

    def oom_killed(self) -> bool:
        return self.oom

    def logs(self) -> str:
        return self._logs

    def processes(self) -> list[Process]:
        return list(self._processes)

    def replace_processes(self, pids: set[int]) -> None:
        """A supervisor killed these processes and started fresh ones in their place."""
        self._processes = [Process(p.pid + 1000, p.ppid, p.args) if p.pid in pids else p for p in self._processes]
        self.frozen -= pids

    def read_file(self, path: str) -> bytes | None:
        return self._files.get(path)

    def inside_processes(self) -> list[Process] | None:
        return self.image.inside_processes(self)

    def signal(self, pids: Sequence[int], name: str) -> bool:
        return self.image.signal(self, pids, name)

    def signal_command(self, pids: Sequence[int], name: str) -> str:
        return f"docker exec CONTAINER kill -{name} {' '.join(map(str, pids))}"

    def listening_sockets(self) -> list[str] | None:
        return self.image.listening_sockets(self)

    def cpu_count(self) -> int | None:
        return self.image.cpu_count(self)

    def nginx_config(self, path: str) -> str | None:
        return self.image.nginx_config(self, path)

    def memory_events(self) -> str | None:
        return self.image.memory_events(self)

    def cpu_waits(self) -> dict[str, float] | None:
        return self.image.cpu_waits(self)

    def stop_gracefully(self, grace: int = contract.SERVE_STOP_GRACE_S) -> StopResult:
        self.alive = False
        return self._stop

    def reproduce(self) -> tuple[str, ...]:
        env = "".join(f" -e {k}={v}" for k, v in self.spec.env.items())
        return (f"docker run --rm -p {self.spec.port}:{self.spec.port}{env} {self.image.info.reference} serve",)


@functools.lru_cache(maxsize=32)
def parse_csv(body: bytes, width: int) -> list[list[float]] | None:
    """What a strict CSV model accepts: UTF-8, non-empty, every record ``width`` numbers. Kept for the bodies sent
    again (the 6 MB ones of SRV-9, SRV-16 and SRV-19 cost a second each to parse); the table is shared: read it."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = [line for line in text.splitlines() if line.strip()]
    table = list(csv.reader(lines)) if '"' in text else [line.split(",") for line in lines]
    if not table or any(len(row) != width for row in table):
        return None
    try:
        return [list(map(float, row)) for row in table]
    except ValueError:
        return None


def proc_dump(processes: Sequence[Process], own_pid: int = 999) -> str:
    """What procs.PROC_TABLE_SCRIPT prints for a table: ``/proc/PID/stat`` and ``cmdline`` of each process."""
    out = str(own_pid)
    for p in [*processes, Process(own_pid + 1, own_pid, "cat /proc/1000/stat")]:
        comm = p.args.split()[0].rsplit("/", 1)[-1][:15] if p.args else "?"
        out += f"\036{p.pid}\037{p.pid} ({comm}) S {p.ppid} 1 1 0 -1\n" + "\0".join(p.args.split()) + "\0"
    return out


# --- training -----------------------------------------------------------------------------------------------------


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


# --- the image ----------------------------------------------------------------------------------------------------


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


# --- the certification the real CheckContext wraps ----------------------------------------------------------------


class FakeTarget:
    """A :class:`conformance.targets.Target` in memory: every call answers from a FakeImage, and is recorded."""

    def __init__(self, image: FakeImage, test_dir: TestDir, stage: Path, clock: Clock | None = None) -> None:
        self.clock = clock or VirtualClock()
        self.fake = image
        self.test_dir = test_dir
        self.engine = ENGINE
        self.capabilities = Capabilities(host_reaches_internal_network=True)
        self.stage = stage
        self.timeline = Timeline()
        self.trainings: list[tuple[str, float | None]] = []
        self.timeouts: dict[str, float] = {}
        """Each training run's budget, by spec name."""
        self.probes: list[tuple[str, str]] = []
        self.servers: dict[str, FakeServer] = {}
        """The server last started for each spec name."""
        self.launches: list[tuple[str, bool, Path | None, float]] = []
        """Every server started: spec name, whether start-up was waited for, the model folder, the start-up budget."""
        self.closed = False
        stage.mkdir(parents=True, exist_ok=True)

    @property
    def image(self) -> ImageInfo:
        return self.fake.info

    def files(self) -> FakeFiles:
        return FakeFiles(self.fake.executables, self.fake.baked, self.fake.baked_sizes, self.fake.contents)

    def probe_entrypoint(self, argument: str, shell: str) -> ArgumentProbe:
        self.probes.append((argument, shell))
        return self.fake.probe(argument)

    def train(self, spec: TrainSpec, *, timeout: float, sigterm_after: float | None = None) -> TrainResult:
        input_dir = stage_input(self.test_dir, spec, self.stage / f"train-{spec.name}")
        self.trainings.append((spec.name, sigterm_after))
        self.timeouts[spec.name] = timeout
        span = self.timeline.span(TRAINING, spec.name)
        for event in ("started", "ready", "stopped"):
            span.mark(event)
        return self.fake.train(spec, sigterm_after, input_dir)

    def train_cluster(self, spec: TrainSpec, *, delay: float, timeout: float) -> tuple[TrainResult, ...]:
        """One run per host of ``spec.hosts``, each staged with its own current_host (as the real one does)."""
        return tuple(
            self.train(replace(spec, name=f"{spec.name}-{host}", current_host=host), timeout=timeout)
            for host in spec.hosts
        )

    def server(self, spec: ServeSpec, *, wait: bool, model: Path | None, budget: float) -> FakeServer:
        self.launches.append((spec.name, wait, model, budget))
        self.timeline.span(SERVING, spec.name).mark("started")
        server = self.servers[spec.name] = self.fake.serve(spec)
        if isinstance(self.clock, VirtualClock):  # on real time (threads racing in ENV-3's tests) elapsed is a figure
            server.clock = self.clock
        server.watching = not wait
        return server

    def close(self) -> None:
        self.closed = True


class ScriptedHost(Host):
    """The fake's host: virtual time, a load average a test sets (never the machine's), and a record of each quiet
    measurement; ``on_quiet`` runs as one starts (a test's image calms down)."""

    def __init__(self, clock: Clock, directory: Path) -> None:
        super().__init__(clock, directory)
        self.load_average = (0.5, 0.4, 0.3)
        self.quiets: list[str] = []
        self.on_quiet: list[Callable[[], None]] = []

    def thread_wait(self) -> float | None:
        return 0.0  # the harness's own thread never waits here: the fake image's figures are the whole story

    def measure_load(self, waited: float | None) -> Load:
        return Load(waited, self.load_average, None, 2)

    @contextlib.contextmanager
    def quiet(self, holder: str) -> Iterator[None]:
        self.quiets.append(holder)
        for calm in self.on_quiet:
            calm()
        with super().quiet(holder):
            yield


class FakeCertification(Certification):
    """The real :class:`conformance.sharing.Certification` (its sharing and cascade rules) over a FakeTarget."""

    def __init__(
        self,
        image: FakeImage,
        test_dir: TestDir,
        stage: Path,
        options: Options | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.fake_target = FakeTarget(image, test_dir, stage, clock)
        host = ScriptedHost(self.fake_target.clock, stage / "quiet")
        super().__init__(self.fake_target, test_dir, options or Options(max_examples=0), host)

    @property
    def fake(self) -> FakeImage:
        return self.fake_target.fake

    @fake.setter
    def fake(self, image: FakeImage) -> None:
        self.fake_target.fake = image

    @property
    def trainings(self) -> list[tuple[str, float | None]]:
        return self.fake_target.trainings

    @property
    def probes(self) -> list[tuple[str, str]]:
        return self.fake_target.probes

    @property
    def servers(self) -> dict[str, FakeServer]:
        return self.fake_target.servers


class FakeFiles:
    """The image's file system as IMG-1 and IMG-3 read it."""

    def __init__(
        self,
        executables: Iterable[str],
        baked: Mapping[str, Sequence[str]],
        sizes: Mapping[str, int] | None = None,
        contents: Mapping[str, bytes] | None = None,
    ) -> None:
        self.executables = set(executables)
        self.baked = baked
        self.sizes = dict(sizes or {})
        self.contents = dict(contents or {})

    def read(self, path: str) -> bytes | None:
        return self.contents.get(path)

    def which(self, name: str, path: tuple[str, ...]) -> PathStat | None:
        candidates = [name] if name.startswith("/") else [f"{d.rstrip('/')}/{name}" for d in path]
        found = next((c for c in candidates if c in self.executables), None)
        return PathStat(found, 0o100755, "") if found else None

    def sizes_under(self, path: str) -> dict[str, int]:
        return {name: self.sizes.get(name, 1024) for name in self.baked.get(path, ())}


def certify(
    image: FakeImage,
    clause_id: str,
    tmp_path: Path,
    *,
    test_dir: TestDir | None = None,
    options: Options | None = None,
    clock: Clock | None = None,
) -> tuple[Outcome, FakeCertification]:
    """Run one real check through the real runner against a fake image (on virtual time unless ``clock``)."""
    if test_dir is None:
        test_dir = load_test_dir(write_test_dir(tmp_path / "test-dir"))
    certification = FakeCertification(image, test_dir, tmp_path / "stage", options, clock)
    list(clauses())  # registers every check
    return run_clause(certification, REGISTRY[clause_id]), certification


def rendered(outcome: Outcome) -> str:
    assert outcome.failure is not None, f"{outcome.clause.id}: {outcome.verdict} ({outcome.reason})"
    return outcome.failure.render()


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


# --- ENV-6: two copies in one network namespace -------------------------------------------------------------------


def proc_net_tcp(sockets: Sequence[tuple[str, int]]) -> str:
    """/proc/net/tcp text with a listening socket at each (IPv4 address, port)."""
    lines = ["  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"]
    for n, (address, port) in enumerate(sockets):
        hexed = "".join(f"{int(octet):02X}" for octet in reversed(address.split(".")))
        lines.append(f"   {n}: {hexed}:{port:04X} 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0 0 {n}")
    return "\n".join(lines) + "\n"


@dataclass
class SharesPorts(GoodImage):
    """Claims accept-bind-to-port; with ``fixed_port`` every copy also listens on 127.0.0.1:fixed_port, so a second
    copy in the same network namespace cannot start."""

    fixed_port: int | None = None
    info: ImageInfo = field(default_factory=lambda: image_info(labels={contract.BIND_TO_PORT_LABEL: "true"}))
    listening: list[tuple[str, int]] = field(default_factory=list)

    def serve(self, spec: ServeSpec) -> FakeServer:
        if spec.network_of is None:
            self.listening = []
        extra = [("127.0.0.1", self.fixed_port)] if self.fixed_port else []
        if spec.network_of is not None and extra and extra[0] in self.listening:
            return FakeServer(self, spec, ready=False, exited=True, exit_code=1, logs="Connection in use: 8000\n")
        self.listening += [("0.0.0.0", spec.port), *extra]
        return super().serve(spec)

    def listening_sockets(self, server: FakeServer) -> list[str] | None:
        return procs.listening_sockets(proc_net_tcp(self.listening))


# --- ENV-7: the multi-model API -----------------------------------------------------------------------------------


@dataclass
class MultiModel(GoodImage):
    """Claims multi-models and implements /models; ``duplicate_status`` is what a second load of one name answers,
    ``forgets`` makes unload answer 200 but keep the model."""

    duplicate_status: int = 409
    forgets: bool = True
    info: ImageInfo = field(default_factory=lambda: image_info(labels={contract.MULTI_MODEL_LABEL: "true"}))
    models: dict[str, str] = field(default_factory=dict)

    def handle(self, server: FakeServer, method: str, path: str, body: bytes, headers: Mapping[str, str]) -> Response:
        if not path.startswith(contract.MODELS_PATH):
            return super().handle(server, method, path, body, headers)
        name = path[len(contract.MODELS_PATH) + 1 :].removesuffix("/invoke")
        if method == "POST" and path == contract.MODELS_PATH:
            request = json.loads(body)
            if request["model_name"] in self.models:
                return Response(self.duplicate_status, b"already loaded", "text/plain")
            self.models[request["model_name"]] = request["url"]
            return Response(200, b'{"status": "loaded"}', "application/json")
        if method == "GET" and path == contract.MODELS_PATH:
            listed = [{"modelName": n, "modelUrl": u} for n, u in self.models.items()]
            return Response(200, json.dumps({"models": listed}).encode(), "application/json")
        if name not in self.models:
            return Response(404, b"not loaded", "text/plain")
        if method == "DELETE":
            if self.forgets:
                del self.models[name]
            return Response(200, b'{"status": "unloaded"}', "application/json")
        return self.invoke(server, body, headers)


# --- ENV-8: serverless --------------------------------------------------------------------------------------------


def serverless_test_dir(root: Path, memory_mb: int = 1024) -> TestDir:
    """A test-dir whose policy declares a serverless deployment of ``memory_mb``."""
    return load_test_dir(write_test_dir(root, policy=f"[serverless]\nmemory_mb = {memory_mb}\n"))


@dataclass
class Serverless(GoodImage):
    """Needs ``startup_mb`` to start and ``peak_mb`` for a request of about 4 MB; over a memory limit, the kernel
    kills it (at start, the whole container; mid-request, the worker, and nginx answers 502)."""

    startup_mb: int = 200
    peak_mb: int = 600

    def serve(self, spec: ServeSpec) -> FakeServer:
        if spec.memory_mb is not None and self.startup_mb > spec.memory_mb:
            server = FakeServer(self, spec, ready=False, exited=True, exit_code=137, logs="Killed\n")
            server.oom = True
            return server
        return super().serve(spec)

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        limit = server.spec.memory_mb
        if limit is not None and len(body) > 1_000_000 and self.peak_mb > limit:
            server.oom_kills += 1
            return Response(502, b"<html>502 Bad Gateway</html>", "text/html")
        return super().invoke(server, body, headers)

    def memory_events(self, server: FakeServer) -> str | None:
        return f"low 0\nhigh 0\nmax 3\noom {server.oom_kills}\noom_kill {server.oom_kills}\n"


@dataclass
class WritesOutsideTmp(GoodImage):
    """Writes a cache to /opt/program at start: fine as root, refused on a read-only file system (ENV-9)."""

    def serve(self, spec: ServeSpec) -> FakeServer:
        if spec.read_only:
            logs = "OSError: [Errno 30] Read-only file system: '/opt/program/cache.json'\n"
            return FakeServer(self, spec, ready=False, exited=True, exit_code=1, logs=logs)
        return super().serve(spec)


@dataclass
class CapsRecords(GoodImage):
    """Answers only the first ``cap`` records of a request, with a 200: a fixed batch size in the app."""

    cap: int = 10_000

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        lines = body.splitlines(keepends=True)
        return super().invoke(server, b"".join(lines[: self.cap]), headers)


@dataclass
class LabelsHtml(GoodImage):
    """A web framework's default: the CSV answer goes out as text/html."""

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        answer = super().invoke(server, body, headers)
        return Response(answer.status, answer.body, "text/html; charset=utf-8" if answer.status == 200 else "")


@dataclass
class IgnoresAccept(GoodImage):
    """Answers text/csv whatever Accept asks for."""

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        return super().invoke(server, body, {k: v for k, v in headers.items() if k != "accept"})


@dataclass
class PadsAnswers(GoodImage):
    """Writes each prediction in a fixed 32-byte slot, padded with blank lines: no record reader sees the padding."""

    def predict(self, table: list[list[float]]) -> bytes:
        return b"".join(line.ljust(32, b"\n") for line in super().predict(table).splitlines())


ROWS = [[5.1, 3.5, 1.4, 0.2], [6.2, 2.9, 4.3, 1.3], [7.7, 3.0, 6.1, 2.3]]


JSON_POLICY = 'content_type = "application/json"\naccept = "application/json"\npayload = "payload.json"\n'


JSONL_POLICY = 'content_type = "application/jsonlines"\npayload = "payload.jsonl"\n'


def json_test_dir(tmp_path: Path, policy: str = JSON_POLICY, payload: bytes | None = None) -> Path:
    body = payload if payload is not None else json.dumps({"instances": ROWS}).encode()  # one line, three records
    return write_test_dir(tmp_path / "td", policy=policy, payload=None, extra={"payload.json": body})


def jsonl_test_dir(tmp_path: Path) -> Path:
    body = "".join(json.dumps({"features": row}) + "\n" for row in ROWS).encode()
    return write_test_dir(tmp_path / "td", policy=JSONL_POLICY, payload=None, extra={"payload.jsonl": body})


def numbers(value: Any) -> list[float] | None:
    ok = isinstance(value, list) and len(value) == 4
    ok = ok and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value)
    return [float(v) for v in value] if ok else None


@dataclass
class JsonApi(FakeImage):
    """`{"instances": [[4 numbers], ...]}` in, `{"predictions": [{"score": ...}, ...]}` out."""

    dropped: int = 0

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        if headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return Response(415, b'{"error": "send application/json"}', "application/json")
        try:
            instances = json.loads(body.decode("utf-8"))["instances"]
            rows = [numbers(i) for i in instances]
        except (ValueError, KeyError, TypeError):
            return Response(400, b'{"error": "bad body"}', "application/json")
        if not rows or any(r is None for r in rows):
            return Response(400, b'{"error": "bad instance"}', "application/json")
        predictions = [{"score": round(sum(r or []), 4)} for r in rows]
        kept = predictions[: len(predictions) - self.dropped] if len(predictions) > 1 else predictions
        return Response(200, json.dumps({"predictions": kept}).encode(), "application/json")


@dataclass
class JsonLinesService(FakeImage):
    """One `{"features": [4 numbers]}` per line in, one `{"score": ...}` per line out."""

    split_on_newline: bool = False  # the twin's bug: a last line without a newline is lost

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        if headers.get("content-type", "").split(";")[0].strip() != "application/jsonlines":
            return Response(415, b"", "text/plain")
        try:
            text = body.decode("utf-8")
            lines = text.split("\n")[:-1] if self.split_on_newline else text.splitlines()
            rows = [numbers(json.loads(line)["features"]) for line in lines if line.strip()]
        except (ValueError, KeyError, TypeError):
            return Response(400, b"", "text/plain")
        if not rows or any(r is None for r in rows):
            return Response(400, b"", "text/plain")
        out = "".join(json.dumps({"score": round(sum(r or []), 4)}) + "\n" for r in rows)
        return Response(200, out.encode(), "application/jsonlines")


@dataclass
class SlowInvocations(GoodImage):
    """Every invocation takes 61 s (the fake answers at once, with that elapsed time)."""

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        response = super().invoke(server, body, headers)
        return replace(response, elapsed=61.0)


@dataclass
class BusyHostPing(GoodImage):
    """A correct image on a busy host: /ping takes 2.33 s, 1.9 s of it the server's tasks waiting for a CPU, until
    the certification measures in quiet (``calm``); ``always`` keeps it busy then too."""

    busy: bool = True
    always: bool = False

    def calm(self) -> None:
        self.busy = self.always

    def ping(self, server: FakeServer) -> Response:
        if not self.busy:
            return Response(200, b"", None, elapsed=0.01)
        server.cpu_waited += 1.9
        return Response(200, b"", None, elapsed=2.33)


def busy_host(certification: FakeCertification, image: BusyHostPing) -> BusyHostPing:
    """``image`` on ``certification``, calming down when it measures in quiet."""
    certification.fake = image
    assert isinstance(certification.host, ScriptedHost)
    certification.host.on_quiet.append(image.calm)
    return image


@dataclass
class PingThreeSeconds(GoodImage):
    def ping(self, server: FakeServer) -> Response:
        return Response(200, b"", None, elapsed=3.0)


REPORT_SCHEMA = json.loads((Path(conformance.report.__file__).with_name("report.schema.json")).read_text())
"""The JSON report's schema (conformance/report.schema.json)."""


def outcomes_of(certification: FakeCertification, ids: list[str]) -> list[Outcome]:
    list(clauses())
    return [run_clause(certification, REGISTRY[i]) for i in ids]


@dataclass
class Trains(GoodImage):
    """Training runs scripted per spec name; the rest as a good image."""

    runs: Mapping[str, TrainResult] = field(default_factory=dict)

    def train(self, spec: TrainSpec, sigterm_after: float | None, input_dir: Path) -> TrainResult:
        return self.runs.get(spec.name) or super().train(spec, sigterm_after, input_dir)


def in_both_forms(result: TrainResult) -> dict[str, TrainResult]:
    """The same run with the full config files and with local mode's minimal ones: training itself is broken."""
    return {"default": result, "minimal-config": replace(result, spec="train-minimal-config")}


@dataclass
class ReadsHyperparameters(GoodImage):
    """Reads hyperparameters.json as the container would; ``refuse`` says which ones it cannot train with."""

    refuse: Callable[[dict[str, str]], bool] = lambda hyperparameters: False
    seen: list[dict[str, str]] = field(default_factory=list)

    def train(self, spec: TrainSpec, sigterm_after: float | None, input_dir: Path) -> TrainResult:
        hyperparameters = json.loads((input_dir / "config" / contract.HYPERPARAMETERS_FILE).read_text())
        self.seen.append(hyperparameters)
        if self.refuse(hyperparameters):
            return failed(spec.name, failure=f"KeyError: cannot train with {sorted(hyperparameters)}")
        return super().train(spec, sigterm_after, input_dir)


@dataclass
class LoopbackOnly(GoodImage):
    """Binds 127.0.0.1:8080: nothing answers through the published port."""

    def serve(self, spec: ServeSpec) -> FakeServer:
        return FakeServer(self, spec, ready=False, answered=False)

    def listening_sockets(self, server: FakeServer) -> list[str] | None:
        return procs.listening_sockets(PROC_NET_TCP_LOOPBACK)


@dataclass
class SlowPing(GoodImage):
    def ping(self, server: FakeServer) -> Response:
        return Response(200, b"", None, elapsed=2.4)


@dataclass
class WritesIntoModelDir(GoodImage):
    def serve(self, spec: ServeSpec) -> FakeServer:
        return FakeServer(
            self,
            spec,
            ready=False,
            exited=True,
            exit_code=1,
            logs="OSError: [Errno 30] Read-only file system: '/opt/ml/model/cache'\n",
        )


@dataclass
class DropsLastRecord(GoodImage):
    """Loses the last record of any body with more than ``keep`` records."""

    keep: int = 1

    def predict(self, table: list[list[float]]) -> bytes:
        return super().predict(table[: self.keep] if len(table) > self.keep else table)


@dataclass
class StrictMediaType(GoodImage):
    """Compares the whole Content-Type header with text/csv."""

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        if headers.get("content-type") != contract.CSV:
            return Response(415, b"unsupported", "text/plain")
        return super().invoke(server, body, headers)


@dataclass
class AnswersUnsupported(GoodImage):
    """Answers any Content-Type it does not know with ``status``."""

    status: int = 200

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        if headers.get("content-type", "").split(";")[0] != contract.CSV:
            if self.status == 200:
                return super().invoke(server, body, {"content-type": contract.CSV})
            return Response(self.status, b"Traceback (most recent call last): ...", "text/html")
        return super().invoke(server, body, headers)


@dataclass
class CrashesOnBadInput(GoodImage):
    """A 500 for anything it cannot parse (an unhandled ValueError)."""

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        response = super().invoke(server, body, headers)
        return Response(500, b"Internal Server Error", "text/html") if response.status == 400 else response


@dataclass
class DiesOnBadInput(GoodImage):
    """The worker dies on the first bad request, and with it the container."""

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        response = super().invoke(server, body, headers)
        if response.status >= 400:
            server.alive = False
            server._exit_code = 139
        return response


@dataclass
class OneMegabyteLimit(GoodImage):
    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        if len(body) > 1024 * 1024:
            return Response(413, b"<html>413 Request Entity Too Large</html>", "text/html")
        return super().invoke(server, body, headers)


@dataclass
class ChokesOnCustomAttributes(GoodImage):
    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        if len(headers.get("x-amzn-sagemaker-custom-attributes", "")) > 512:
            return Response(400, b"header too long", "text/plain")
        return super().invoke(server, body, headers)


@dataclass
class IgnoresSigterm(GoodImage):
    def serve(self, spec: ServeSpec) -> FakeServer:
        server = super().serve(spec)
        server._stop = StopResult(contract.SERVE_STOP_GRACE_S, 30.3, 137, True)
        return server


@dataclass
class HealthyWithoutModel(GoodImage):
    def serve(self, spec: ServeSpec) -> FakeServer:
        return super().serve(replace(spec, model="trained"))


@dataclass
class PingBlockedByInvocations(GoodImage):
    """A single-threaded server: /ping waits behind the invocations in flight."""

    def ping(self, server: FakeServer) -> Response:
        return Response(200, b"", None, elapsed=2.5 if server.in_flight else 0.001)

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        time.sleep(0.02)
        return super().invoke(server, body, headers)


@dataclass
class NeedsEgress(GoodImage):
    def serve(self, spec: ServeSpec) -> FakeServer:
        if spec.isolated:
            return FakeServer(
                self, spec, ready=False, exited=True, exit_code=1, logs="ConnectionError: huggingface.co\n"
            )
        return super().serve(spec)


@dataclass
class Nondeterministic(GoodImage):
    def predict(self, table: list[list[float]]) -> bytes:
        return "".join(f"{random.random():.6f}\n" for _ in table).encode()


@dataclass
class RecordedProcessTable(GoodImage):
    """Serves with a process table recorded from a real container, whatever the environment says."""

    table: tuple[Process, ...] = ()
    nginx: str | None = None

    def serve(self, spec: ServeSpec) -> FakeServer:
        files = {"/opt/program/nginx.conf": self.nginx.encode()} if self.nginx is not None else {}
        return FakeServer(self, spec, processes=self.table, files=files)


GUNICORN_60 = "/usr/bin/python3 /usr/local/bin/gunicorn --timeout 60 -k sync -b unix:/tmp/gunicorn.sock -w 2 wsgi:app"

HARD_CODED = (
    Process(1, 0, "/usr/bin/python3 /opt/program/serve"),
    Process(12, 1, "nginx: master process nginx -c /opt/program/nginx.conf"),
    Process(13, 1, GUNICORN_60),
    Process(14, 12, "nginx: worker process"),
    Process(15, 13, GUNICORN_60),
    Process(16, 13, GUNICORN_60),
)


@dataclass
class BadExecutionParameters(GoodImage):
    document: bytes = b'{"MaxConcurrentTransforms": 0, "BatchStrategy": "ALL", "MaxPayloadInMB": 200}'

    def execution_parameters(self, server: FakeServer) -> Response:
        return Response(200, self.document, "application/json")


@dataclass
class ClaimsBindToPort(GoodImage):
    honours: bool = True
    info: ImageInfo = field(default_factory=lambda: image_info(labels={contract.BIND_TO_PORT_LABEL: "true"}))

    def serve(self, spec: ServeSpec) -> FakeServer:
        if spec.port != contract.PORT and not self.honours:
            return FakeServer(self, spec, ready=False, answered=False)
        return super().serve(spec)
