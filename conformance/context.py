"""What one check sees of the image: :class:`CheckContext`, a view of the shared :class:`Certification`.

The certification (:mod:`conformance.sharing`) starts each container at most once and applies the cascade rules;
the context records which containers a check used, so that a failure carries their logs and the commands to
reproduce it. Checks see the image only through the Protocols of :mod:`conformance.targets`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from conformance.clock import Clock
from conformance.counted import CountedServer
from conformance.entrypoint import ArgumentProbe
from conformance.failures import HarnessError, NotJudged, Section, Violation
from conformance.fairness import Load, fair, measured_wait, unjudged
from conformance.limits import PING, Limits
from conformance.opt_ml import TRAIN_DEFAULT, TrainSpec
from conformance.options import Options
from conformance.servers import (
    SERVE_BIND_TO_PORT,
    SERVE_DEFAULT,
    SERVE_EMPTY_MODEL,
    SERVE_ISOLATED,
    SERVE_SECOND,
    SERVE_SIGTERM,
)
from conformance.sharing import (
    Certification,
    hung_dependency,
)
from conformance.targets import ImageCommands, ImageFiles, Server, ServeSpec
from conformance.targets.results import TrainResult
from conformance.trainings import (
    MINIMAL_FORM_MODEL_NOTE,
    MINIMAL_FORM_NOTE,
    TEST_DIR_MODEL_NOTE,
    Training,
    working_training,
)

T = TypeVar("T")


class CheckContext:
    """What one check sees: the shared certification, plus a record of what the check used."""

    def __init__(
        self, certification: Certification, clause_id: str = "", home: ServeSpec = SERVE_DEFAULT, *, shares: bool = True
    ) -> None:
        self.certification = certification
        self.clause_id = clause_id
        self.home = home
        """The server of the default configuration this check uses: the default, or its second (Clause.replica)."""
        self.shares = shares
        """Whether a configuration may be served by the server shared with other clauses' (False: judged again)."""
        self.shared: dict[str, str] = {}
        """Each configuration this check was served on a shared server, with that server's name."""
        self.found_unshared = 0
        """Violations the check found before it asked for a shared server (the runner counts them)."""
        self.limits: Limits = certification.limits
        self.image = certification.image
        self.policy = certification.policy
        self.test_dir = certification.test_dir
        self.stage: Path = certification.stage
        self.options = certification.options
        self.engine = certification.engine
        self.commands: ImageCommands = certification.target.commands
        """How a person looks at the image by hand (for "Reproduce with")."""
        self.clock: Clock = certification.clock
        """Where the check reads time and sleeps: never ``time`` itself (the fake runs on virtual time)."""
        self.load: Load | None = None
        """What the host was doing during the check's timing measurement (:meth:`timed`), when it made one."""
        self.measurements: dict[str, float] = {}
        self.notes: list[str] = []
        self._used: list[tuple[str, Callable[[], str], tuple[str, ...]]] = []
        self._measuring = False

    def train(self, spec: TrainSpec = TRAIN_DEFAULT) -> TrainResult:
        result = self.certification.train(spec)
        if result.spec != spec.name:
            self.note(
                f"judged on the run '{result.spec}', which combines this clause's condition with those of other "
                "clauses: it trained cleanly, so each condition is tolerated (a shared run that fails is split into "
                "runs of their own, each judged alone)"
            )
        self._use(f"training run '{spec.name}' logs", lambda: result.logs, result.reproduce)
        dependency = self.certification.entrypoint_dependency(result)
        if dependency is not None:
            raise dependency
        return result

    def train_cluster(self, spec: TrainSpec, *, delay: float) -> tuple[TrainResult, ...]:
        """A training job on every host of ``spec.hosts`` (see :meth:`.sharing.Certification.train_cluster`)."""
        results = self.certification.train_cluster(spec, delay=delay)
        for result in results:
            name = result.spec.removeprefix("train-")
            self._use(f"training run '{name}' logs", (lambda text: lambda: text)(result.logs), result.reproduce)
        return results

    def probe_entrypoint(self, argument: str, shell: str) -> ArgumentProbe:
        probe = self.certification.probe_entrypoint(argument, shell)
        self._use(f"entrypoint probe '{argument}' logs", lambda: probe.logs, probe.reproduce)
        return probe

    def training(self) -> Training:
        """The run that stands for the image's training (the minimal-config run when only that one trains)."""
        return working_training(self.train)

    def files(self) -> ImageFiles:
        """The image's file system, read without running it (IMG-1, IMG-3)."""
        return self.certification.files()

    def server(self, spec: ServeSpec = SERVE_DEFAULT, *, ready: bool = True) -> Server:
        if spec.name == SERVE_DEFAULT.name:
            spec = self._home()
        if self.certification.needs_healthy(spec, ready=ready):
            self.limits.refuse(self.clause_id, PING)
        spec = self._shared_spec(spec)
        getter = self.certification.ready_server if ready else self.certification.server
        try:
            container = getter(spec)
        finally:
            self._use_logs(spec)
            note = self.certification.model_note
            if spec.model == "trained" and note and note not in self.notes:
                self.note(note)
        return self._counted(container)

    def _home(self) -> ServeSpec:
        """:attr:`home`, or the default server when the second one never became healthy (said in a note)."""
        if self.home == SERVE_SECOND:
            why = self.certification.unhealthy_second()
            if why is not None:
                self.note(f"{why}: this check ran on the default server")
                self._use_logs(SERVE_SECOND)
                self.home = SERVE_DEFAULT
        return self.home

    def _shared_spec(self, spec: ServeSpec) -> ServeSpec:
        """The server shared with other clauses' configurations that stands for ``spec`` once healthy
        (:meth:`.servers.Servers.shared_server`); a neighbour of a configuration served so joins that server."""
        if spec.network_of in self.shared:
            host = self.shared[spec.network_of]
            return dataclasses.replace(spec, name=f"{spec.name}-beside-{host}", network_of=host)
        combined = self.certification.shared_server(spec) if self.shares else None
        if combined is None:
            return spec
        if spec.name not in self.shared:
            self.shared[spec.name] = combined.name
            self.note(
                f"judged on the server '{combined.name}', which combines this clause's configuration '{spec.name}' "
                "with other clauses': it is healthy, so each configuration is served (a clause that fails there is "
                "judged again on servers of its own)"
            )
        return combined

    def _use_logs(self, spec: ServeSpec) -> None:
        current = self.certification.current(spec.name)
        if current is not None:
            self._use(f"serving container '{spec.name}' logs", current.logs, current.reproduce())

    def default_server(self) -> Server:
        """The default server as first started, to read (its readiness, its process table), never replaced: for a
        check that runs beside the checks that share the default server (see :attr:`.registry.Clause.apart`)."""
        container = self.certification.default_server()
        self._use(f"serving container '{SERVE_DEFAULT.name}' logs", container.logs, container.reproduce())
        return self._counted(container)

    def _counted(self, container: Server) -> CountedServer:
        return CountedServer(container, self.limits, self.clause_id, self._pause)

    def _pause(self) -> None:
        if not self._measuring:
            self.pause()

    def pause(self) -> None:
        """Wait while another check, here or in another certification on the host, measures in quiet (what each
        request does first, outside :meth:`measuring`)."""
        self.certification.pause_point(self.clause_id)

    @contextlib.contextmanager
    def measuring(self) -> Iterator[None]:
        """A measurement under way whose clock runs before and between its requests (ENV-3's freeze, then its
        request; its 30 s for the server to recover): its requests never wait for another's quiet, which would count
        in its own time."""
        self._measuring = True
        try:
            yield
        finally:
            self._measuring = False

    def timed(
        self,
        measure: Callable[[], T],
        duration: Callable[[T], float],
        limit: float,
        what: str,
        *,
        server: Server | None = None,
        load_of: Callable[[T], Load | None] = lambda _: None,
        judge: Callable[[T, float, Load], bool] | None = None,
    ) -> T:
        """``measure()``, with its control beside it (:mod:`conformance.fairness`): a ``duration`` of the result at
        or over ``limit`` that the host's load may explain is measured again with the other checks paused; still
        unfair, the clause is not judged (a skip naming the load). The control is the run-queue wait of ``server``'s
        tasks and of this thread, or the load the result recorded itself (``load_of``: a stop records it as it ends),
        else the load average now. The load goes into the measurements, and into :attr:`load` for the evidence.
        ``judge`` decides whether a result is fair when :func:`~conformance.fairness.fair` on its duration cannot
        (a stop SIGKILLed at the end of its grace: :meth:`StopResult.fair`)."""

        def is_fair(result: T, load: Load) -> bool:
            return judge(result, limit, load) if judge is not None else fair(duration(result), limit, load)

        result, load = self._observe(server, measure, duration, limit, load_of)
        if not is_fair(result, load):
            self.note(
                f"{what} took {duration(result):.2f} s under load ({load.describe()}): measured again with the other "
                "checks paused"
            )
            with self.certification.quiet(self.clause_id):
                result, load = self._observe(server, measure, duration, limit, load_of)
        self.record_load(load)
        if not is_fair(result, load):
            raise NotJudged(unjudged(what, duration(result), limit, load))
        return result

    def _observe(
        self,
        server: Server | None,
        measure: Callable[[], T],
        duration: Callable[[T], float],
        limit: float,
        load_of: Callable[[T], Load | None],
    ) -> tuple[T, Load]:
        """The result and the load it was measured under. The image's run-queue wait is read only when the duration
        is over the limit (within it, load cannot have made it fail): one `docker exec` before, one after."""
        image_before = server.cpu_waits() if server is not None else None
        own_before = self.certification.host.thread_wait()
        result = measure()
        recorded = load_of(result)
        if recorded is not None:
            return result, recorded
        waited = None
        if server is not None and duration(result) >= limit and image_before is not None and own_before is not None:
            waited = measured_wait(image_before, server.cpu_waits(), own_before, self.certification.host.thread_wait())
        return result, self.certification.host.measure_load(waited)

    def record_load(self, load: Load | None = None) -> Load:
        """Keep what the host was doing (now, unless ``load`` is given) as this check's timing measurement's load:
        in its measurements (``srv12_load_average``, ...) and its evidence."""
        self.load = load or self.certification.host.measure_load(None)
        prefix = self.clause_id.lower().replace("-", "")
        for name, value in self.load.figures(prefix).items():
            self.measure(name, value)
        return self.load

    def load_evidence(self) -> tuple[tuple[str, str], ...]:
        """The load of the check's timing measurement, as a failure's evidence."""
        return (("Host load while measured", self.load.describe()),) if self.load is not None else ()

    def discard(self, spec: ServeSpec) -> None:
        self.certification.discard(spec)

    def breach(self, kind: str, violation: Violation) -> None:
        """Keep a limit this check saw broken (conformance.limits): later checks that need it skip naming it."""
        self.limits.record(self.clause_id, kind, violation)

    def limit_violations(self) -> list[Violation]:
        return self.limits.seen_by(self.clause_id)

    def measure(self, name: str, value: float) -> None:
        self.measurements[name] = round(value, 4)
        self.certification.measurements[name] = round(value, 4)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def payload_file(self, name: str, data: bytes) -> Path:
        """Keep a request body on disk so that ``Reproduce with:`` can ``curl --data-binary @file``."""
        directory = self.stage / "payloads"
        directory.mkdir(exist_ok=True)
        path = directory / re.sub(r"[^A-Za-z0-9_.-]+", "-", name)
        path.write_bytes(data)
        return path

    def sections(self) -> list[Section]:
        sections = []
        for title, logs, _ in self._used:
            try:
                sections.append(Section(title, logs()))
            except Exception as error:
                sections.append(Section(title, f"(logs unavailable: {error})"))
        return sections

    def reproduce(self) -> list[str]:
        commands: list[str] = []
        for _, _, steps in self._used:
            commands += [s for s in steps if s not in commands]
        return commands

    def _use(self, title: str, logs: Callable[[], str], reproduce: tuple[str, ...]) -> None:
        if all(title != t for t, _, _ in self._used):
            self._used.append((title, logs, reproduce))


def wait_for(clock: Clock, condition: Callable[[], bool], timeout: float, interval: float = 0.25) -> bool:
    """Poll ``condition`` until true or ``timeout`` on ``clock``; for observations that settle (worker counts)."""
    deadline = clock.now() + timeout
    while clock.now() < deadline:
        if condition():
            return True
        clock.sleep(interval)
    return condition()


__all__ = [
    "MINIMAL_FORM_MODEL_NOTE",
    "MINIMAL_FORM_NOTE",
    "SERVE_BIND_TO_PORT",
    "SERVE_DEFAULT",
    "SERVE_EMPTY_MODEL",
    "SERVE_ISOLATED",
    "SERVE_SECOND",
    "SERVE_SIGTERM",
    "TEST_DIR_MODEL_NOTE",
    "Certification",
    "CheckContext",
    "HarnessError",
    "Options",
    "ServeSpec",
    "Training",
    "hung_dependency",
    "working_training",
]
