"""Fake images on a busy host (issue 23): what each timing clause meets when the machine, not the image, is slow, and
how each calms down when the certification measures in quiet."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from conformance.targets import ServeSpec

from .checkfakes import GoodImage
from .fakeimages import PingBlockedByInvocations
from .fakeserver import FakeServer, Response


@dataclass
class BusyUntilQuiet(GoodImage):
    """A correct image on a busy host until the certification measures in quiet (``calm``, which the fake host calls);
    ``always`` keeps it busy then too."""

    busy: bool = True
    always: bool = False

    def calm(self) -> None:
        self.busy = self.always


@dataclass
class BusyHostPing(BusyUntilQuiet):
    """/ping takes 2.33 s, 1.9 s of it the server's tasks waiting for a CPU, while busy."""

    def ping(self, server: FakeServer) -> Response:
        if not self.busy:
            return Response(200, b"", None, elapsed=0.01)
        server.cpu_waited += 1.9
        return Response(200, b"", None, elapsed=2.33)


@dataclass
class SlowStartOnBusyHost(BusyUntilQuiet):
    """While busy, the start-up runs out of its budget, its tasks having waited ``waited`` seconds for a CPU."""

    waited: float = 8.0

    def serve(self, spec: ServeSpec) -> FakeServer:
        if not self.busy:
            return super().serve(spec)
        server = FakeServer(self, spec, ready=False, answered=False)
        server.cpu_waited = self.waited
        return server


@dataclass
class EmptyModelOnBusyHost(GoodImage):
    """Without a model, the server stays up and its start-up outlasts SRV-12's window on a busy host (its tasks
    having waited ``waited`` s for a CPU); then /ping answers 503, or 200 when ``healthy`` (the defect, shown late).
    Each ping while busy adds ``more`` s of waiting; ``calm`` (the quiet) stops that unless ``always``."""

    healthy: bool = False
    waited: float = 6.0
    more: float = 0.0
    always: bool = False

    def calm(self) -> None:
        self.more = self.more if self.always else 0.0

    def serve(self, spec: ServeSpec) -> FakeServer:
        if spec.model != "empty":
            return super().serve(spec)
        server = FakeServer(self, spec, ready=False, answered=False)
        server.cpu_waited = self.waited
        return server

    def ping(self, server: FakeServer) -> Response:
        if server.spec.model != "empty":
            return super().ping(server)
        server.cpu_waited += self.more
        return Response(200 if self.healthy else 503, b"", None)


@dataclass
class QueuedPingOnBusyHost(PingBlockedByInvocations):
    """srv13-sync-workers-slow-model beside CPU burners: each invocation's parsing waits 0.6 s for a CPU, so over
    SRV-13's whole window the workers waited longer than any ping took; a ping queued behind invocations takes
    2.5 s, only 0.3 s of it waiting (the rest is the model's sleep, its own time)."""

    def ping(self, server: FakeServer) -> Response:
        if server.in_flight:
            server.cpu_waited += 0.3
        return super().ping(server)

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        server.cpu_waited += 0.6
        return super().invoke(server, body, headers)


@dataclass
class QueuedPingUnfairAtFirst(PingBlockedByInvocations):
    """srv13-sync-workers-slow-model beside CPU burners and other certifications (CI): a ping queued behind
    invocations takes 3.1 s; during the first ``unfair`` ones the workers' parsing waited 1.2 s for a CPU (3.1 s less
    that is under the 2 s limit: the host may explain it), during the later ones 0.3 s (the image's own time, as
    alone)."""

    unfair: int = 2
    queued: int = 0

    def ping(self, server: FakeServer) -> Response:
        if not server.in_flight:
            return super().ping(server)
        self.queued += 1
        server.cpu_waited += 1.2 if self.unfair > 0 else 0.3
        self.unfair -= 1
        return Response(200, b"", None, elapsed=3.1)


@dataclass
class ExitsDuringStartOnBusyHost(BusyUntilQuiet):
    """MLflow's container beside other certifications and two CPU burners (CI): while busy, its wrapper exits 0
    before /ping answers (nginx: `[emerg] open() "/var/log/nginx/access.log" failed (17: File exists)`). Its waits
    cannot be read once it has exited."""

    def serve(self, spec: ServeSpec) -> FakeServer:
        if not self.busy:
            return super().serve(spec)
        return FakeServer(self, spec, ready=False, exited=True, exit_code=0, logs="Got sigterm signal, exiting.\n")

    def cpu_waits(self, server: FakeServer) -> dict[str, float] | None:
        return None if not server.alive else super().cpu_waits(server)
