"""The serving half of a certification: each serving configuration's container, started once and shared.

:class:`Servers` is the base of :class:`conformance.sharing.Certification`. It starts the container of each
:class:`~conformance.targets.ServeSpec` once and hands it to every check that asks; it replaces one an earlier check
broke, never the default server as first started (SRV-2's evidence); it starts again, with the other checks paused, a
start-up that ran out of its budget while its tasks waited for a CPU; and it knows which clause a failure belongs to:
a variant of the default server needs that server healthy (SRV-2).
"""

from __future__ import annotations

import abc
import concurrent.futures
import contextlib
import dataclasses
import threading
from collections.abc import Sequence
from pathlib import Path

from conformance import contract
from conformance.failures import CheckSkipped, DependencyFailed, HarnessError
from conformance.fairness import Host, fair_startup, lifetime_load, startup_unjudged
from conformance.options import Options
from conformance.scheduler import Scheduler
from conformance.targets import Server, ServeSpec, Target
from conformance.testdir import Policy

SERVE_DEFAULT = ServeSpec("default")
SERVE_SIGTERM = ServeSpec("sigterm")
SERVE_EMPTY_MODEL = ServeSpec("empty-model", model="empty")
SERVE_ISOLATED = ServeSpec("isolated", isolated=True)
SERVE_BIND_TO_PORT = ServeSpec(
    "bind-to-port",
    env={
        contract.BIND_TO_PORT_ENV: str(contract.PIPELINE_PORTS[0]),
        contract.SAFE_PORT_RANGE_ENV: contract.PIPELINE_SAFE_PORT_RANGES[0],
    },
    port=contract.PIPELINE_PORTS[0],
    publish=(contract.PIPELINE_PORTS[1],),
    capability=contract.BIND_TO_PORT_LABEL,
    shareable=True,
)
"""ENV-5's server, and the first copy of ENV-6's pipeline (one container: ENV-6 needs ENV-5, so it comes after and
adds the second copy in this one's network namespace, on the port this one publishes)."""
SERVE_SECOND = ServeSpec("default-2")
"""A second server of the default configuration, for the checks that run on it (:attr:`.registry.Clause.replica`)."""


def combine_serving(specs: Sequence[ServeSpec]) -> ServeSpec:
    """One server with the variables of every shareable spec in ``specs``, on the port the one that moves it names (a
    correct image serves under all of them at once). Specs that set a variable differently, or both move the port,
    cannot share: ValueError."""
    if any(not spec.shareable for spec in specs) or len(specs) < 2:
        raise ValueError(f"not shareable together: {[spec.name for spec in specs]}")
    env: dict[str, str] = {}
    moved = [spec for spec in specs if spec.port != contract.PORT or spec.publish]
    if len(moved) > 1:
        raise ValueError(f"{moved[0].name} and {moved[1].name} both move the port")
    twisted = [spec.name for spec in specs if _plain(spec) != ServeSpec("")]
    if twisted:
        raise ValueError(f"{twisted} change more than variables and the port")
    for spec in specs:
        for name, value in spec.env.items():
            if env.setdefault(name, value) != value:
                raise ValueError(f"{spec.name} and another spec set {name} differently")
    base = moved[0] if moved else ServeSpec("")
    return ServeSpec(
        "+".join(spec.name for spec in specs), env=env, port=base.port, publish=base.publish, shareable=True
    )


def _plain(spec: ServeSpec) -> ServeSpec:
    """``spec`` without what a shared server combines (its name, variables, port and what marks it shareable)."""
    return dataclasses.replace(spec, name="", env={}, port=contract.PORT, publish=(), capability=None, shareable=False)


def serving_shares(specs: Sequence[ServeSpec]) -> list[tuple[ServeSpec, ServeSpec]]:
    """Each shareable spec among ``specs`` with the one server that stands for it (:func:`combine_serving`), in the
    order given; none when fewer than two are shareable, or when they cannot share."""
    members: list[ServeSpec] = []
    for spec in specs:
        if spec.shareable and spec not in members:
            members.append(spec)
    if len(members) < 2:
        return []
    try:
        combined = combine_serving(members)
    except ValueError:
        return []
    return [(spec, combined) for spec in members]


EMPTY_MODEL_MIN_S = 10.0
EMPTY_MODEL_FACTOR = 5.0


def empty_model_window(cold_start: float, budget: float) -> float:
    """How long SRV-12 watches a server with an empty /opt/ml/model: 5 times the image's own cold start with a
    model (SRV-2's), at least 10 s, never past the start-up budget (see SRV-12 for why that is enough)."""
    return min(budget, max(EMPTY_MODEL_MIN_S, EMPTY_MODEL_FACTOR * cold_start))


def serving_ahead(default: Server) -> bool:
    """Whether the default server is fit for its variants to be started ahead of the checks: healthy, with its last
    ping under SageMaker's 2 s (otherwise SRV-2 fails and the variants' checks skip naming it)."""
    last = default.readiness.last
    return default.readiness.ready and last is not None and last.elapsed < contract.PING_TIMEOUT_S


def serve_key(spec: ServeSpec) -> str:
    """The graph node (and the lock) of the server ``spec``."""
    return f"serve {spec.name}"


class Servers(abc.ABC):
    """The serving containers of one certification, each started once whichever check or graph node asks first.

    The certification (:class:`conformance.sharing.Certification`) provides what a start needs: its target, options,
    graph, a lock per key, a slot per start, the quiet to start again in, and the model to serve.
    """

    target: Target
    host: Host
    options: Options
    policy: Policy
    scheduler: Scheduler
    containers_started: int
    _lock: threading.Lock

    def __init__(self) -> None:
        self._servers: dict[str, Server] = {}
        self._first_default: Server | None = None
        self._launched: set[str] = set()
        self._serve_shares: list[tuple[ServeSpec, ServeSpec]] = []
        """Each shareable configuration the selected clauses use, with the server that stands for it
        (:func:`serving_shares`)."""

    @abc.abstractmethod
    def _key(self, key: str) -> contextlib.AbstractContextManager[None]:
        """One start at a time for ``key``."""

    @abc.abstractmethod
    def _start_slot(self, containers: int = 1) -> contextlib.AbstractContextManager[None]:
        """A slot of the scheduler for a container starting."""

    @abc.abstractmethod
    def quiet(self, clause_id: str) -> contextlib.AbstractContextManager[None]:
        """The other checks paused while this one measures."""

    @abc.abstractmethod
    def model_source(self) -> Path:
        """The folder the served model comes from."""

    def _serve_default_ahead(self) -> None:
        with contextlib.suppress(Exception), self._key(serve_key(SERVE_DEFAULT)):
            self._server(SERVE_DEFAULT)

    def _serve_ahead(self, spec: ServeSpec) -> None:
        default = self._first_default
        if default is None or not serving_ahead(default):
            return  # the variants' checks skip naming SRV-2
        with contextlib.suppress(Exception), self._key(serve_key(spec)):
            # Not when a check has started it already: it may have stopped it on purpose (SRV-11). SRV-12's server
            # is started without waiting for its /ping: its check judges it once most of its window has passed.
            if spec.name not in self._launched:
                self._launch(spec, wait=spec.name != SERVE_EMPTY_MODEL.name, default=default)

    def _serve_beside(self, spec: ServeSpec) -> None:
        """Start ``spec`` beside the default server, healthy or not (its check skips naming SRV-2 if the default is
        not): the server of a check whose wait is the certification's longest."""
        with contextlib.suppress(Exception), self._key(serve_key(spec)):
            if spec.name not in self._launched:
                self._launch(spec, wait=True)

    def current(self, name: str) -> Server | None:
        """The serving container last started for the spec called ``name`` (None if none, or it was discarded)."""
        return self._servers.get(name)

    def server(self, spec: ServeSpec = SERVE_DEFAULT) -> Server:
        """The running container for ``spec``; a fresh one if an earlier check killed it."""
        if not self.policy.serves:
            raise CheckSkipped(f"profile is {self.policy.profile!r}: the image does not serve")
        if spec.name not in (SERVE_DEFAULT.name, SERVE_EMPTY_MODEL.name):
            # Every other configuration is the default one plus a twist: when the default never became
            # healthy, SRV-2 holds the evidence, and blaming the twist would be a cascade.
            default = self.default_server()
            if not default.readiness.ready:
                raise DependencyFailed("SRV-2", default.readiness.describe())
        # What a node made ahead (a server whose /ping it did not wait for, or nothing when a check had started it
        # already) is for this call's own _server to take up.
        self.scheduler.wait(serve_key(spec))
        with self._key(serve_key(spec)):
            return self._server(spec)

    def share_of(self, spec: ServeSpec) -> ServeSpec | None:
        """The server planned to stand for ``spec`` with the other shareable configurations (:func:`serving_shares`);
        None when it shares none."""
        return next((combined for member, combined in self._serve_shares if member == spec), None)

    def shared_server(self, spec: ServeSpec) -> ServeSpec | None:
        """The shared server that stands for ``spec`` once it is healthy; None when ``spec`` shares none or the
        shared one never became healthy (then ``spec`` gets a server of its own, and each clause judges its own
        configuration alone)."""
        combined = self.share_of(spec)
        if combined is None:
            return None
        return combined if self.server(combined).readiness.ready else None

    def unhealthy_second(self) -> str | None:
        """Why the second server of the default configuration cannot stand in for the default server, which became
        healthy (SRV-2 judged it): it never did itself; None when it did. Its checks then run on the default server
        (a replica check) or a server of their own (SRV-11's stop) rather than skip naming SRV-2 (CI: MLflow's
        wrapper exited 0 during one start beside other certifications)."""
        second = self.server(SERVE_SECOND)
        if second.readiness.ready:
            return None
        return f"{SERVE_SECOND.name} never became healthy ({second.readiness.describe()}), while the default server did"

    def default_server(self) -> Server:
        """The default server as first started, started now if it was not: its readiness is SRV-2's verdict, which
        every variant depends on, and its process table tells which stack the image runs. Never replaced here: a
        check on the default server may have broken the current one on purpose (SRV-8), or be loading it (SRV-13),
        and a check in another group must not stop it under that check."""
        if self._first_default is None:
            self.server(SERVE_DEFAULT)
        assert self._first_default is not None  # set by the first launch, or server() raised
        return self._first_default

    def _server(self, spec: ServeSpec) -> Server:
        current = self._servers.get(spec.name)
        if current is not None:
            current.await_ready()  # started early (the empty-model server): its watch ends now
        if current is not None and not current.readiness.ready:
            return current
        if current is not None and current.running() and current.healthy():
            return current
        if current is not None:
            current.stop()
        return self._launch(spec, wait=True)

    def _launch(self, spec: ServeSpec, *, wait: bool, default: Server | None = None) -> Server:
        """Start the container of ``spec``; without ``wait`` its /ping is watched in the background until
        :meth:`server` asks for it."""
        model = self.model_source() if spec.model in ("trained", "multi") else None
        budget = self.options.startup_budget
        # A shared server not healthy within SRV-12's window stands for nobody: each configuration then starts its
        # own, with the whole budget and the start-up fairness rules, so a share never costs a start-up budget twice.
        shared = any(combined == spec for _, combined in self._serve_shares)
        if spec.model == "empty" or shared:
            default = default or self.default_server()
            if not default.readiness.ready:
                raise DependencyFailed("SRV-2", default.readiness.describe())
            assert default.readiness.seconds is not None
            budget = empty_model_window(default.readiness.seconds, budget)
        via = self._servers.get(spec.network_of) if spec.network_of else None
        if spec.network_of and (via is None or not via.running()):
            raise HarnessError(f"serving container {spec.name!r} needs {spec.network_of!r} running first")
        with self._start_slot():
            container = self.target.server(spec, wait=wait, model=model, budget=budget)
            ended = container.readiness.ran_out or container.readiness.exited
            if wait and ended and spec.model != "empty" and not shared:  # SRV-12 judges its own window
                container = self._start_again_if_unfair(spec, container, model)
        self._servers[spec.name] = container
        self._launched.add(spec.name)
        if spec.name == SERVE_DEFAULT.name and self._first_default is None:
            self._first_default = container
        return container

    def _start_again_if_unfair(self, spec: ServeSpec, first: Server, model: Path | None) -> Server:
        """A start-up that ran out of its budget, or exited, while its tasks waited for a CPU
        (:func:`.fairness.fair_startup`; an exited container's waits cannot be read, so the host's load decides) is
        started again with the other checks paused; still unfair, its readiness says the start-up was not judged,
        which SRV-2 reports and each check needing the server skips naming. An exit in quiet is the image's own (CI:
        MLflow's wrapper exited 0 during one start beside other certifications, its nginx failing to open its log,
        and started in quiet)."""
        load = lifetime_load(self.host, first.cpu_waits)
        first.readiness.load = load
        if fair_startup(load):
            return first
        budget = first.readiness.budget
        first.stop()
        with self.quiet(f"start-up of {spec.name}"):
            with self._lock:
                self.containers_started += 1
            container = self.target.server(spec, wait=True, model=model, budget=budget)
            readiness = container.readiness
            ended = (
                f"exited with code {first.readiness.exit_code} before /ping answered 200"
                if first.readiness.exited
                else f"did not answer 200 on /ping within {budget:g} s"
            )
            readiness.again = (
                f"the first start {ended} under load ({load.describe()}): started again with the other checks paused"
            )
            if readiness.ran_out:
                readiness.load = lifetime_load(self.host, container.cpu_waits)
                if not fair_startup(readiness.load):
                    readiness.unjudged = startup_unjudged(budget, readiness.load)
        return container

    @staticmethod
    def needs_healthy(spec: ServeSpec, *, ready: bool) -> bool:
        """A check asking for ``spec`` needs a healthy server: a ping over the limit on an idle server (SRV-2's
        failure) then makes it skip. Only SRV-2's own servers (the default and the empty-model one) are asked for
        without readiness."""
        return ready or spec.name not in (SERVE_DEFAULT.name, SERVE_EMPTY_MODEL.name)

    def ready_server(self, spec: ServeSpec = SERVE_DEFAULT) -> Server:
        container = self.server(spec)
        if not container.readiness.ready:
            raise DependencyFailed("SRV-2", container.readiness.describe())
        return container

    def discard(self, spec: ServeSpec) -> None:
        """Forget a container a check stopped on purpose (SIGTERM), so nobody reuses it."""
        container = self._servers.pop(spec.name, None)
        if container is not None:
            container.stop()

    def stop_servers(self) -> None:
        """Stop every serving container, side by side: each stop is an engine round trip and a wait for it to go."""
        servers = list(self._servers.values())
        self._servers.clear()
        if servers:
            with concurrent.futures.ThreadPoolExecutor(len(servers), thread_name_prefix="smc-stop") as stopping:
                list(stopping.map(_stop_quietly, servers))


def _stop_quietly(container: Server) -> None:
    with contextlib.suppress(Exception):
        container.stop()
