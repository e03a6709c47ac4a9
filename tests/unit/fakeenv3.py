"""Fake images that play the server's side of ENV-3's race (conformance/freezing.py): while ENV-3's request to the
frozen workers is open, the image replaces them, boots a late worker or answers slowly, and ENV-3's watch reads the
process table. They sleep and read time on the target's clock (``server.clock``), the one the check runs on: a
:class:`conformance.clock.ScaledClock` (:func:`race_clock`), so the race is real time's, only faster; an exchange's
elapsed time is a figure there (see :mod:`.fakeserver`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from conformance import procs
from conformance.clock import ScaledClock
from conformance.freezing import WATCH_INTERVAL_S
from conformance.procs import Process
from conformance.targets import ServeSpec

from .checkfakes import GoodImage
from .fakeenv import RecordedProcessTable
from .fakeserver import FakeServer, Response

RACE_SPEED = 10.0
"""How much faster than real time ENV-3's races run: a watch interval of 0.5 s takes 50 ms; a test's slack of a
second, 100 ms (what a loaded 2-CPU host delays a woken thread by stays well under it)."""


def race_clock() -> ScaledClock:
    """The clock of one ENV-3 test whose threads race."""
    return ScaledClock(RACE_SPEED)


@dataclass
class SlowFreshWorker(RecordedProcessTable):
    """Replaces its frozen workers at once, then takes a while to answer from the fresh one (a slow model load)."""

    def frozen_invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        server.replace_processes(set(server.frozen))
        server.clock.sleep(3 * WATCH_INTERVAL_S)
        return replace(self.invoke(server, body, headers), elapsed=10.5)


@dataclass
class SlowProcessTable(GoodImage):
    """Reading the process table takes ``read_s`` (a docker exec on a loaded engine); the workers are replaced
    while the first watching read is under way, and the answer comes a little later."""

    read_s: float = 0.6

    def inside_processes(self, server: FakeServer) -> list[Process] | None:
        if server.frozen:
            server.clock.sleep(self.read_s / 2)
            if getattr(self, "invoked", False):
                server.replace_processes(set(server.frozen))
            server.clock.sleep(self.read_s / 2)
        return super().inside_processes(server)

    def frozen_invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        self.invoked = True
        server.clock.sleep(4 * self.read_s)
        return replace(self.invoke(server, body, headers), elapsed=10.2)


@dataclass
class SlowBootingWorker(GoodImage):
    """gunicorn on a loaded machine: the last worker forks some seconds after ENV-3 froze the others (too late for
    the looks right after the freeze), and answers the request at once; the frozen workers are all still there."""

    def __post_init__(self) -> None:
        self.late: Process | None = None

    def serve(self, spec: ServeSpec) -> FakeServer:
        server = super().serve(spec)
        if spec.name == "env-timeout":
            self.late = procs.count_workers(server.processes()).workers[-1]
            server._processes = [p for p in server.processes() if p.pid != self.late.pid]
        return server

    def frozen_invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        if self.late is not None:  # it boots now, not frozen, and takes the request
            server._processes.append(self.late)
            self.late = None
            return replace(self.invoke(server, body, headers), elapsed=2.9)
        return super().frozen_invoke(server, body, headers)


@dataclass
class LateWorkerBesideTheFrozenRequest(SlowBootingWorker):
    """MMS on a loaded machine: a worker boots seconds after ENV-3 froze the others and shows in the process table,
    but the request stays with the frozen workers and ends only at the server's timeout (200 after 11.9 s), every
    frozen worker still there. The worker that appeared early was no replacement: it did not decide the request."""

    def frozen_invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        if self.late is not None:
            server._processes.append(self.late)
            self.late = None
            server.clock.sleep(3 * WATCH_INTERVAL_S)  # the watch sees it while the request is open
            return replace(self.invoke(server, body, headers), elapsed=11.9)
        return super().frozen_invoke(server, body, headers)


@dataclass
class GunicornOnABusyEngine(GoodImage):
    """gunicorn on a busy engine: each `docker exec` takes ``exec_s`` while ``busy_tries`` last, so ENV-3's request
    leaves seconds after the freeze; the arbiter counts a worker's silence from its last heartbeat, at the freeze,
    so by the request's clock the cut comes that much earlier than T + 2 s."""

    exec_s: float = 1.6
    busy_tries: int = 1

    def __post_init__(self) -> None:
        self.stop_asked: float | None = None
        self.tries = 0

    def signal(self, server: FakeServer, pids: Sequence[int], name: str) -> bool:
        if name == "STOP" and self.stop_asked is None:
            self.stop_asked, self.tries = server.clock.now(), self.tries + 1
        if name == "CONT":
            self.stop_asked = None
        if name == "STOP" and self.tries <= self.busy_tries:
            server.clock.sleep(self.exec_s)
        return super().signal(server, pids, name)

    def inside_processes(self, server: FakeServer) -> list[Process] | None:
        if server.frozen and self.tries <= self.busy_tries:
            server.clock.sleep(self.exec_s)
        return super().inside_processes(server)

    def frozen_invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        answer = super().frozen_invoke(server, body, headers)
        assert self.stop_asked is not None
        return replace(answer, elapsed=answer.elapsed - (server.clock.now() - self.stop_asked))


@dataclass
class ReplacedOnABusyHost(GoodImage):
    """The arbiter replaces the frozen workers while the request is open, then :meth:`busy_answer` says what the
    request got on the busy host; calm (``busy`` off, as in a quiet measurement) it answers as gunicorn does."""

    busy: bool = True

    def frozen_invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        if not self.busy:
            return super().frozen_invoke(server, body, headers)
        server.replace_processes(set(server.frozen))
        server.clock.sleep(3 * WATCH_INTERVAL_S)  # the watch sees the replacement while the request is open
        return self.busy_answer(server, body, headers)

    def busy_answer(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        raise NotImplementedError


@dataclass
class FreshWorkerSlowOnABusyHost(ReplacedOnABusyHost):
    """gunicorn's sync workers at a load average of 21 on 2 CPUs (CI, issue 23): the arbiter replaced the frozen
    workers in time, but the fresh worker had not answered the queued request by T + 8 s."""

    def busy_answer(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        return Response(504, b"", "text/plain", elapsed=3600.0)


@dataclass
class EarlyReplacementOnABusyHost(ReplacedOnABusyHost):
    """The reference image beside other certifications and two CPU burners (CI, issue 23): its gthread workers,
    kept from their heartbeat before the freeze, were replaced 7.8 s after it (calm, at T)."""

    def busy_answer(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        return replace(self.invoke(server, body, headers), elapsed=7.8)


@dataclass
class IdleHeartbeat(GoodImage):
    """gunicorn with --timeout T whose idle worker last beat about T/2 before the freeze (CI: replaced after 4.9 s
    with T = 10 on a quiet host)."""

    def frozen_invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        server.clock.sleep(4.6)
        server.replace_processes(set(server.frozen))
        server.clock.sleep(3 * WATCH_INTERVAL_S)  # the watch sees the replacement while the request is open
        return replace(self.invoke(server, body, headers), elapsed=7.0)


class CutOnAKeptConnection(GoodImage):
    """gunicorn's gthread workers keep connections: ENV-3's request went out on one a frozen worker held, gunicorn
    killed that worker at T (closing it unanswered), and the harness's client sent the request again on a fresh
    connection, which a fresh worker answered at once (CI: 200 after 0.07 s, the cut 10.9 s in)."""

    def frozen_invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        server.clock.sleep(10.9)
        server.replace_processes(set(server.frozen))
        return replace(self.invoke(server, body, headers), elapsed=10.97, dropped_after=10.9)


@dataclass
class HalfTOnABusyHost(GoodImage):
    """gunicorn with uvicorn workers and --timeout T beside other certifications (CI, the json-api corpus image): the
    frozen workers replaced 6.1 s after the request, from T/2 on, which T counted from an idle worker's last
    heartbeat explains whatever the load."""

    def frozen_invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        server.clock.sleep(6.1)
        server.replace_processes(set(server.frozen))
        server.clock.sleep(3 * WATCH_INTERVAL_S)  # the watch sees the replacement while the request is open
        return replace(self.invoke(server, body, headers), elapsed=6.1 + 3 * WATCH_INTERVAL_S)


class KilledFromHalfTOnAKeptConnection(GoodImage):
    """gunicorn with uvicorn workers and --timeout T beside other certifications (CI, the text-generation reference
    image): the arbiter killed a frozen worker 7.7 s after the request (its silence counted from its last heartbeat,
    up to T/2 before the freeze), which closed the kept connection the request was on; the harness's client sent it
    again and a fresh worker answered."""

    def frozen_invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        server.clock.sleep(7.7)
        server.replace_processes(set(server.frozen))
        return replace(self.invoke(server, body, headers), elapsed=8.97, dropped_after=7.66)


class ProxyCutFromHalfT(GoodImage):
    """A front proxy with a limit of its own (6 s) answers 504 to the request while the frozen workers are all still
    there: --timeout T on the command line does not make that early cut T acting."""

    def frozen_invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        server.clock.sleep(6.0)
        return Response(504, b"upstream timed out", "text/plain", elapsed=6.0)
