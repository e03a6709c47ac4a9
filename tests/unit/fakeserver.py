"""The fake serving container: HTTP answered by its FakeImage, the typed operations of
:class:`conformance.targets.Server`, and what it renders for "Reproduce with" (see :mod:`.checkfakes`)."""

from __future__ import annotations

import csv
import functools
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from conformance import contract
from conformance.clock import Clock, VirtualClock
from conformance.http import Exchange
from conformance.pid1 import StopResult
from conformance.procs import Process
from conformance.targets import ServeSpec
from conformance.targets.results import Readiness
from conformance.wire import Request, Streamed, Turn

if TYPE_CHECKING:
    from .checkfakes import FakeImage
    from .fakegenerative import FakeWebSocket


PING_200 = Exchange("GET", "http://fake:8080/ping", {}, b"", 200, "OK", {}, b"", 0.002)
"""The first 200 on /ping of a fake server that became ready."""


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


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = "text/csv"
    elapsed: float = 0.002
    headers: Mapping[str, str] = field(default_factory=dict)
    dropped_after: float | None = None
    """The kept connection was closed unanswered after this long, and the answer came on a fresh one
    (conformance.http.send): ``elapsed`` counts both."""


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
        """The target's clock (FakeTarget.server sets it). A virtual one each exchange moves by its elapsed time; on a
        scaled or real one (threads racing in ENV-3's tests) elapsed is a figure, and the image sleeps on this clock
        for what the race needs."""
        self.cpu_waited = 0.0
        """Seconds the container's tasks have waited for a CPU (schedstat): a busy host's images add to it."""
        self.open_sessions = 0
        """WebSockets open on /invocations-bidirectional-stream (SRV-25..27)."""

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
        if isinstance(self.clock, VirtualClock):  # the exchange takes its time, on the target's virtual clock
            self.clock.sleep(min(response.elapsed, timeout))
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
        answer_headers = {"content-length": str(len(response.body)), **response.headers}
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
            dropped_after=response.dropped_after,
        )

    def keep_alive(self, requests: Sequence[Request], *, timeout: float | None = None) -> list[Turn] | None:
        """As conformance.wire.keep_alive sees the image: each answer, and whether the image closes the connection
        after it without saying so (``FakeImage.closes_kept_alive``)."""
        turns: list[Turn] = []
        reused = False
        for method, path, body, headers in requests:
            if reused and self.image.closes_kept_alive:
                error = "RemoteDisconnected: Remote end closed connection without response"
                url = f"http://127.0.0.1:32768{path}"
                failed = Exchange(method, url, dict(headers), body, None, "", {}, b"", 0.001, error=error)
                turns.append(Turn(failed, True, False, None))
                reused = False
                continue
            exchange = self._exchange(method, path, body, dict(headers), None, timeout or 70.0)
            closes = self.image.closes_kept_alive
            turns.append(Turn(exchange, reused, False, 0.002 if closes else None))
            reused = True
        return turns

    def stream(
        self,
        request: Request,
        *,
        timeout: float | None = None,
        payload_file: Path | None = None,
        beyond_limit: bool = False,
    ) -> Streamed:
        method, path, body, headers = request
        exchange = self._exchange(method, path, body, dict(headers), payload_file, timeout or 70.0)
        return self.image.streamed(self, exchange)

    def websocket(self, path: str, *, timeout: float) -> FakeWebSocket:
        return self.image.websocket(self, path)

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
        return f"fake-engine exec {self.spec.name} kill -{name} {' '.join(map(str, pids))}"

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

    def stop_command(self, grace: int) -> str:
        return f"fake-engine stop --grace {grace} {self.spec.name}"

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
