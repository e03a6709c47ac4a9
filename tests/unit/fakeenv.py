"""Fake images for the environment clauses: process tables recorded from real containers (ENV-1 to ENV-3), an
/execution-parameters document (ENV-4), and the bind-to-port label (see :mod:`.checkfakes`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from conformance import contract, procs
from conformance.procs import Process
from conformance.targets import ServeSpec
from conformance.targets.results import ImageInfo

from .checkfakes import GoodImage, image_info
from .fakeserver import FakeServer, Response


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
