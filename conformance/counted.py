"""A serving container as one check sees it (:class:`CountedServer`): its requests counted for the check's clause."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import requests

from conformance import contract
from conformance.http import Exchange
from conformance.limits import Limits
from conformance.pid1 import StopResult
from conformance.procs import Process
from conformance.targets import Readiness, Server
from conformance.websocket import Session
from conformance.wire import Request, Streamed, Turn


class CountedServer:
    """A serving container as one check sees it: every request it sends is counted against SageMaker's limits for
    that check's clause (conformance.limits), from whichever thread sends it, and waits first while another check
    measures in quiet (:meth:`.sharing.Certification.quiet`)."""

    def __init__(self, server: Server, limits: Limits, clause: str, pause: Callable[[], None] = lambda: None) -> None:
        self.server = server
        self.limits = limits
        self.clause = clause
        self.pause = pause

    @property
    def readiness(self) -> Readiness:
        return self.server.readiness

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        session: requests.Session | None = None,
        payload_file: Path | None = None,
    ) -> Exchange:
        self.pause()
        self.limits.before(self.clause, method, path)
        exchange = self.server.request(
            method, path, body=body, headers=headers, timeout=timeout, session=session, payload_file=payload_file
        )
        self.limits.after(self.clause, exchange)
        return exchange

    def keep_alive(self, requests: Sequence[Request], *, timeout: float | None = None) -> list[Turn] | None:
        for method, path, _, _ in requests:
            self.limits.before(self.clause, method, path)
        turns = self.server.keep_alive(requests, timeout=timeout)
        for turn in turns or ():
            self.limits.after(self.clause, turn.exchange)
        return turns

    def stream(
        self,
        request: Request,
        *,
        timeout: float | None = None,
        payload_file: Path | None = None,
        beyond_limit: bool = False,
    ) -> Streamed | None:
        if beyond_limit:
            return self.server.stream(request, timeout=timeout, payload_file=payload_file, beyond_limit=True)
        self.limits.before(self.clause, request[0], request[1])
        streamed = self.server.stream(request, timeout=timeout, payload_file=payload_file)
        if streamed is not None:
            self.limits.after(self.clause, streamed.exchange)
        return streamed

    def websocket(self, path: str, *, timeout: float) -> Session:
        return self.server.websocket(path, timeout=timeout)

    def running(self) -> bool:
        return self.server.running()

    def healthy(self) -> bool:
        return self.server.healthy()

    def exit_code(self) -> int | None:
        return self.server.exit_code()

    def oom_killed(self) -> bool:
        return self.server.oom_killed()

    def logs(self) -> str:
        return self.server.logs()

    def processes(self) -> list[Process]:
        return self.server.processes()

    def read_file(self, path: str) -> bytes | None:
        return self.server.read_file(path)

    def inside_processes(self) -> list[Process] | None:
        return self.server.inside_processes()

    def signal(self, pids: Sequence[int], name: str) -> bool:
        return self.server.signal(pids, name)

    def signal_command(self, pids: Sequence[int], name: str) -> str:
        return self.server.signal_command(pids, name)

    def listening_sockets(self) -> list[str] | None:
        return self.server.listening_sockets()

    def cpu_count(self) -> int | None:
        return self.server.cpu_count()

    def nginx_config(self, path: str) -> str | None:
        return self.server.nginx_config(path)

    def memory_events(self) -> str | None:
        return self.server.memory_events()

    def cpu_waits(self) -> dict[str, float] | None:
        return self.server.cpu_waits()

    def stop_gracefully(self, grace: int = contract.SERVE_STOP_GRACE_S) -> StopResult:
        return self.server.stop_gracefully(grace)

    def stop_command(self, grace: int) -> str:
        return self.server.stop_command(grace)

    def reproduce(self) -> tuple[str, ...]:
        return self.server.reproduce()

    def await_ready(self) -> object:
        return self.server.await_ready()

    def stop(self) -> None:
        self.server.stop()
