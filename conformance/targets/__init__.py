"""What the checks see of an image, as interfaces: its files and config, its training, its serving, and the engine.

A target is the image as some engine runs it. Checks, and the sharing and cascade rules above them
(:mod:`conformance.sharing`), speak only to these Protocols: :mod:`conformance.targets.docker` implements them on a
Docker engine, and the unit tests' fake (``tests/unit/faketarget.py``) in memory. Each call starts something new;
sharing a container between checks, and skipping what depends on a failed clause, is :mod:`conformance.sharing`'s
business. The pytest plugin gets an :class:`Engine` from its target factory and each image's :class:`Target` from it.
Nothing here imports an engine's client library.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import requests

from conformance import contract
from conformance.entrypoint import ArgumentProbe
from conformance.fairness import Host
from conformance.http import Exchange
from conformance.opt_ml import TrainSpec
from conformance.pid1 import StopResult
from conformance.procs import Process
from conformance.targets.results import EngineInfo, ImageInfo, PathStat, Readiness, TrainResult
from conformance.testdir import TestDir
from conformance.timeline import Timeline
from conformance.websocket import Session
from conformance.wire import Request, Streamed, Turn


@dataclass(frozen=True)
class ServeSpec:
    """One configuration of a serving container; checks asking for the same name share it."""

    name: str
    env: Mapping[str, str] = field(default_factory=dict)
    model: str = "trained"
    """``trained``: the extracted model.tar.gz of TRN-1 (or the test-dir's model/); ``empty``: nothing; ``multi``:
    nothing at /opt/ml/model, and that model copied twice under /opt/ml/models as a multi-model endpoint has it."""
    isolated: bool = False
    """On an internal network: no egress at all (SRV-14)."""
    port: int = contract.PORT
    publish: tuple[int, ...] = ()
    """More container ports to publish, for a neighbour in this container's network namespace (ENV-6)."""
    memory_mb: int | None = None
    """``docker run --memory`` (and as much swap: none), as a serverless endpoint limits it (ENV-8)."""
    cpus: float | None = None
    """``docker run --cpus`` (ENV-8)."""
    network_of: str | None = None
    """Join the network namespace of the running container of this spec name (``--network container:...``); requests
    go through that container's published ports."""
    user: str | None = None
    """``docker run --user``: run as this uid[:gid] instead of the image's USER (ENV-9)."""
    read_only: bool = False
    """``docker run --read-only``: a read-only root file system (ENV-9)."""
    tmpfs: Mapping[str, str] = field(default_factory=dict)
    """``docker run --tmpfs PATH:OPTIONS``: fresh writable tmpfs mounts, path to mount options (ENV-9)."""
    capability: str | None = None
    """The image label (``=true``) that claims this configuration: without it nothing is started for it ahead of its
    check, which then skips (ENV-5's ``accept-bind-to-port``)."""
    shareable: bool = False
    """A configuration a correct image serves in together with the other shareable ones, and that changes nothing
    their clauses judge (it only sets variables, and the port one of them names; ENV-5's port and SRV-16's
    SingleRecord strategy): one server with all of them stands for each while it is healthy
    (:func:`conformance.servers.combine_serving`), and a clause that fails there is judged again on a server of its
    own (:func:`conformance.runner.run_clause`)."""


@dataclass(frozen=True)
class Capabilities:
    """What the engine behind a target can do, declared by the target rather than guessed by a check."""

    host_reaches_internal_network: bool = False
    """The harness can open a connection from the host to a container on an internal network (no egress, no published
    ports). Docker Desktop and rootless Docker run containers in a VM or a namespace of their own, so a Docker target
    declares False and asks from a probe container on that network instead (SRV-14,
    :mod:`conformance.targets.docker.netprobe`)."""


class ImageFiles(Protocol):
    """The image's file system, read without running it (IMG-1, IMG-3)."""

    def which(self, name: str, path: tuple[str, ...]) -> PathStat | None:
        """The executable ``name`` as exec would find it on ``path`` (symlinks followed); None when there is none."""
        ...

    def sizes_under(self, path: str) -> dict[str, int]:
        """Path -> size of every file under ``path`` in the image (empty when there is nothing there)."""
        ...

    def read(self, path: str) -> bytes | None:
        """The content of the regular file at ``path`` in the image (IMG-4 reads /etc/passwd); None when there is
        none."""
        ...


class ImageCommands(Protocol):
    """How a person looks at the image by hand, for "Reproduce with": the checks write no engine's commands."""

    def show_config(self, *fields: str) -> str:
        """Print these fields of the image config, by their :class:`ImageInfo` names (``os``, ``architecture``,
        ``user``, ``env``), joined by ``/``."""
        ...

    def run(self, *argv: str) -> str:
        """Run ``argv`` in a throwaway container of the image, instead of its ENTRYPOINT."""
        ...

    def build(self, platform: str) -> str:
        """Build the image again, from its Dockerfile in the current folder, for ``platform``."""
        ...


class Server(Protocol):
    """One serving container: its readiness, HTTP to it, and what can be seen inside it."""

    @property
    def readiness(self) -> Readiness: ...

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
        """One HTTP request as a client of the endpoint sends it."""
        ...

    def keep_alive(self, requests: Sequence[Request], *, timeout: float | None = None) -> list[Turn] | None:
        """``requests`` sent back to back on one kept HTTP/1.1 connection, each answer's connection watched briefly
        for an unannounced close (:func:`conformance.wire.keep_alive`); None when the harness reaches the server only
        through a probe container, which cannot hold a connection for it."""
        ...

    def stream(
        self,
        request: Request,
        *,
        timeout: float | None = None,
        payload_file: Path | None = None,
        beyond_limit: bool = False,
    ) -> Streamed | None:
        """One request whose answer is read part by part as it arrives (:func:`conformance.wire.stream`); None as
        for :meth:`keep_alive`. ``beyond_limit``: the request is meant to outlast SageMaker's real-time limit (an
        asynchronous endpoint's, ENV-12), so it is not counted against that limit."""
        ...

    def websocket(self, path: str, *, timeout: float) -> Session:
        """Open a WebSocket to ``path`` on the server's port, as SageMaker's front end opens one for
        InvokeEndpointWithBidirectionalStream (:class:`conformance.websocket.WebSocket`); raises
        :class:`conformance.websocket.WebSocketError` when the upgrade is refused or the connection fails."""
        ...

    def running(self) -> bool: ...

    def healthy(self) -> bool:
        """A quick /ping answers 200."""
        ...

    def exit_code(self) -> int | None: ...

    def oom_killed(self) -> bool: ...

    def logs(self) -> str: ...

    def processes(self) -> list[Process]:
        """The container's process table, read without any tool inside the image."""
        ...

    def read_file(self, path: str) -> bytes | None: ...

    def inside_processes(self) -> list[Process] | None:
        """The process table as the container sees it (its own PIDs, the ones :meth:`signal` takes); None when it
        cannot be read (no shell in the image)."""
        ...

    def signal(self, pids: Sequence[int], name: str) -> bool:
        """Send ``SIG{name}`` (STOP, CONT) to the container's ``pids``; False when it could not be sent."""
        ...

    def signal_command(self, pids: Sequence[int], name: str) -> str:
        """How a person sends the same signal by hand (for "Reproduce with")."""
        ...

    def listening_sockets(self) -> list[str] | None:
        """The TCP sockets listening in the container's network namespace (:func:`conformance.procs.listening_sockets`);
        None when they cannot be read."""
        ...

    def cpu_count(self) -> int | None:
        """The CPUs the container sees from inside (``nproc``); None when it cannot tell."""
        ...

    def nginx_config(self, path: str) -> str | None:
        """nginx's whole configuration from ``path``, includes resolved (``nginx -T``); None when nginx cannot
        print it."""
        ...

    def memory_events(self) -> str | None:
        """The container's cgroup memory events (``memory.events``, v2, else v1's ``memory.oom_control``); None when
        neither can be read."""
        ...

    def cpu_waits(self) -> dict[str, float] | None:
        """The seconds each task alive in the container (``PID/TID``) has spent runnable but waiting for a CPU (the
        control of a timing measurement, conformance.fairness); None when it cannot be read."""
        ...

    def stop_gracefully(self, grace: int = contract.SERVE_STOP_GRACE_S) -> StopResult:
        """SIGTERM, then SIGKILL after ``grace`` seconds, timed."""
        ...

    def stop_command(self, grace: int) -> str:
        """How a person makes the same timed stop by hand (for "Reproduce with")."""
        ...

    def reproduce(self) -> tuple[str, ...]:
        """The commands that start this container by hand."""
        ...

    def await_ready(self) -> object:
        """Collect a wait for /ping that was left to run in the background (at once when there was none)."""
        ...

    def stop(self) -> None: ...


class TrainingTarget(Protocol):
    """``docker run IMAGE train``, each call a fresh run."""

    def train(self, spec: TrainSpec, *, timeout: float, sigterm_after: float | None = None) -> TrainResult:
        """One training run on ``spec``'s /opt/ml, ended after ``timeout`` s at the latest (or stopped with SIGTERM
        ``sigterm_after`` s in)."""
        ...

    def train_cluster(self, spec: TrainSpec, *, delay: float, timeout: float) -> tuple[TrainResult, ...]:
        """One training job on every host of ``spec.hosts``, host n starting ``n * delay`` s after the first."""
        ...


class ServingTarget(Protocol):
    """``docker run IMAGE serve``, each call a fresh container."""

    def server(self, spec: ServeSpec, *, wait: bool, model: Path | None, budget: float) -> Server:
        """Start the container of ``spec`` serving the model folder ``model`` (None: an empty /opt/ml/model); with
        ``wait`` return once /ping answered 200, or the ``budget`` ran out, or it exited; without, watch /ping in the
        background until :meth:`Server.await_ready`."""
        ...


class Target(TrainingTarget, ServingTarget, Protocol):
    """The image under test as one engine runs it."""

    @property
    def image(self) -> ImageInfo: ...

    @property
    def engine(self) -> EngineInfo: ...

    @property
    def capabilities(self) -> Capabilities: ...

    @property
    def stage(self) -> Path:
        """The host folder where runs are staged and payloads kept."""
        ...

    @property
    def timeline(self) -> Timeline: ...

    @property
    def commands(self) -> ImageCommands:
        """The commands that show by hand what a check saw of the image (for "Reproduce with")."""
        ...

    def files(self) -> ImageFiles: ...

    def probe_entrypoint(self, argument: str, shell: str) -> ArgumentProbe:
        """Run the image's wrapper ENTRYPOINT with ``argument`` and a stub of it on PATH (IMG-1)."""
        ...

    def close(self) -> None:
        """Remove everything the target made."""
        ...


class Engine(Protocol):
    """The engine a session certifies on: what the pytest plugin asks of it besides each image's :class:`Target`.

    The plugin calls its target factory (``--target-factory=MODULE:CALLABLE``, no arguments) once in a session that
    certifies an image, and never in one that does not; :func:`conformance.targets.docker.target.connect` is the
    default.
    """

    @property
    def info(self) -> EngineInfo:
        """The engine as the report's header names it; its ``cpus`` bound ``--concurrency``'s default."""
        ...

    @property
    def host(self) -> Host:
        """The machine the harness measures on (:mod:`conformance.fairness`): its clock, its load, the quiet to
        measure again in. The real one for an engine on this machine; the fake's runs on virtual time."""
        ...

    def inspect(self, reference: str) -> ImageInfo:
        """The image's config; a :class:`~conformance.failures.HarnessError` saying what to do when the engine does not
        hold the image (the harness never pulls)."""
        ...

    def target(self, image: ImageInfo, test_dir: TestDir, stage: Path) -> Target:
        """The image as a target, staging its runs and payloads under ``stage``."""
        ...

    def prepare(self) -> None:
        """Called before an image's first check that starts a container (the IMG clauses start none): once per such
        image, so it must be idempotent."""
        ...

    def cleanup(self) -> None:
        """Remove everything this session made: at its end, and at once after -x or Ctrl-C."""
        ...


__all__ = [
    "Capabilities",
    "Engine",
    "ImageCommands",
    "ImageFiles",
    "Readiness",
    "ServeSpec",
    "Server",
    "ServingTarget",
    "Target",
    "TrainResult",
    "TrainingTarget",
]
