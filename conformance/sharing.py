"""The sharing and cascade rules of one certification, over any :class:`~conformance.targets.Target`.

:class:`Certification` starts each training run and serving configuration at most once and shares it between the
checks; it knows which clause a failure belongs to, so that what depends on it skips naming it: a variant of the
default server needs that server healthy (SRV-2); a server an earlier check broke is replaced; training that never
ended is TRN-1's, or IMG-1's when the entrypoint never passed `train` on; a model that never came is TRN-1's. It
speaks only to the Protocols of :mod:`conformance.targets`, so the unit tests run it on their fake.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

from conformance import contract
from conformance.clock import Clock
from conformance.entrypoint import ArgumentProbe, drops_argument, shell_wrapper
from conformance.failures import CheckSkipped, DependencyFailed, HarnessError
from conformance.fairness import HOST, Host
from conformance.limits import Limits
from conformance.opt_ml import TRAIN_DEFAULT, TRAIN_MINIMAL_CONFIG, TrainSpec
from conformance.registry import LEAD, Clause, Level, Phase
from conformance.targets import ImageFiles, Server, ServeSpec, Target
from conformance.targets.results import TrainResult
from conformance.testdir import Policy, TestDir
from conformance.timeline import Timeline

T = TypeVar("T")

SERVE_DEFAULT = ServeSpec("default")
SERVE_SIGTERM = ServeSpec("sigterm")
SERVE_EMPTY_MODEL = ServeSpec("empty-model", model="empty")
SERVE_ISOLATED = ServeSpec("isolated", isolated=True)
SERVE_SECOND = ServeSpec("default-2")
"""A second server of the default configuration, for the checks that run on it (:attr:`.registry.Clause.replica`)."""


def produced_model(result: TrainResult) -> bool:
    """The run trained: it exited 0 and left a model."""
    return not result.hung and result.start_error is None and result.exit_code == 0 and bool(result.model_files)


@dataclass(frozen=True)
class Training:
    """The run that stands for the image's training, and the config form it used.

    Normally the default run (the test-dir with the full config files SageMaker writes). When that run exits
    non-zero, the same tree with local mode's minimal config files is tried: if that one trains, the full form is
    what broke (TRN-3 holds the evidence) and the other clauses judge the minimal run and use its model, instead of
    all skipping as if training itself were broken. A run that hung or could not start is not retried: a second
    try would only cost time.
    """

    run: TrainResult
    default: TrainResult
    config_form: str = "full"

    @property
    def trained(self) -> bool:
        return produced_model(self.run)

    @property
    def full_form_rejected(self) -> bool:
        return self.config_form == "minimal"


def variant_spec(spec: TrainSpec, training: Training) -> TrainSpec:
    """The run a clause other than TRN-1 and TRN-3 asks for: ``spec`` itself, or its minimal-config form when only
    local mode's minimal config files train (TRN-3 holds that), so that each clause judges its own subject."""
    if spec in (TRAIN_DEFAULT, TRAIN_MINIMAL_CONFIG) or not training.full_form_rejected:
        return spec
    return dataclasses.replace(spec, name=f"{spec.name}-minimal-config", config_form="minimal")


def working_training(train: Callable[[TrainSpec], TrainResult]) -> Training:
    """The default run, or the minimal-config run when only that one trains (see :class:`Training`)."""
    default = train(TRAIN_DEFAULT)
    if produced_model(default) or default.hung or default.start_error is not None or default.exit_code == 0:
        return Training(default, default)
    minimal = train(TRAIN_MINIMAL_CONFIG)
    if produced_model(minimal):
        return Training(minimal, default, "minimal")
    return Training(default, default)


RUN_BUDGET_FACTOR = 10.0
RUN_BUDGET_MIN_S = 60.0


def run_budget(train_timeout: float, default: TrainResult | None) -> float:
    """How long a training run may take: --train-timeout for the run on the test-dir (and any run before it);
    every other run trains on the same data, so 10 times as long as that run took, at least 60 s, is its budget,
    never more than --train-timeout. One still running then is hung (TRN-1 states the rule)."""
    if default is None or default.hung:
        return train_timeout
    return min(train_timeout, max(RUN_BUDGET_MIN_S, RUN_BUDGET_FACTOR * default.seconds))


def second_server(selected: Iterable[Clause]) -> bool:
    """Whether the :attr:`~conformance.registry.Clause.replica` checks among ``selected`` get a second server of the
    default configuration: only when a check that is neither one of them, nor apart, nor one of :data:`LEAD` shares
    the default server. Otherwise nothing would load the first while they run, and a second would cost a start."""
    chosen = list(selected)
    serving = [c for c in chosen if c.phase in (Phase.SERVING, Phase.ENVIRONMENT)]
    return any(c.replica for c in serving) and any(not (c.apart or c.replica or c.id in LEAD) for c in serving)


def plan(selected: Iterable[Clause], policy: Policy) -> list[TrainSpec | ServeSpec]:
    """What the ``selected`` clauses will ask for, in their order: the training run on the test-dir for a training
    clause, the default server for a serving or environment clause (a CONDITIONAL one starts its own only when the
    image claims it) and its second for a check that runs on that (:func:`second_server`), and each clause's
    :attr:`~conformance.registry.Clause.uses`."""
    chosen = list(selected)
    second = second_server(chosen)
    found: list[TrainSpec | ServeSpec] = []
    for clause in chosen:
        if clause.phase is not Phase.IMAGE and clause.level is not Level.CONDITIONAL:
            found.append(TRAIN_DEFAULT if clause.phase is Phase.TRAINING else SERVE_DEFAULT)
            found += [SERVE_SECOND] if clause.replica and second else []
        found += clause.planned(policy)
    return found


def entrypoint_drops(certification: Certification, argument: str) -> str | None:
    """Why IMG-1 finds that ``docker run IMAGE argument`` reaches no program called with ``argument`` (a shell-form
    ENTRYPOINT, or a wrapper whose probe failed); None when it does."""
    image = certification.image
    entrypoint = tuple(image.entrypoint or ())
    if drops_argument(entrypoint):
        return f"the shell-form ENTRYPOINT {list(entrypoint)} never passes `{argument}` to a program"
    if shell_wrapper(entrypoint):
        found = certification.files().which(entrypoint[0], image.path)
        if found is not None:
            probe = certification.probe_entrypoint(argument, found.path)
            if not probe.reached:
                return f"the wrapper ENTRYPOINT {list(entrypoint)} does not pass `{argument}` on: {probe.describe()}"
    return None


def hung_dependency(certification: Certification, run: TrainResult) -> DependencyFailed:
    """What a training run that never ended (:attr:`TrainResult.hung`) leaves the other training clauses depending
    on: IMG-1 when the entrypoint never passes `train` on (the run was never training), else TRN-1, which reports
    the run. No other training run is started then: each would start the same program and cost the same again."""
    dropped = entrypoint_drops(certification, contract.TRAIN_ARG)
    if dropped is not None:
        return DependencyFailed("IMG-1", f"{dropped}, and the training run {run.describe()}")
    return DependencyFailed("TRN-1", f"the training run on the test-dir {run.describe()}")


MINIMAL_FORM_NOTE = (
    "the training run with the full documented config files failed and the run with local mode's minimal form "
    "trained: TRN-3 holds that failure, and this clause was judged with the minimal form"
)
MINIMAL_FORM_MODEL_NOTE = (
    "the model served came from the training run with local mode's minimal config files: the run with the full "
    "documented files failed (TRN-3)"
)
TEST_DIR_MODEL_NOTE = (
    "training produced no model (TRN-1), so the serving clauses were judged on the test-dir's model/ folder"
)


EMPTY_MODEL_MIN_S = 10.0
EMPTY_MODEL_FACTOR = 5.0


def empty_model_window(cold_start: float, budget: float) -> float:
    """How long SRV-12 watches a server with an empty /opt/ml/model: 5 times the image's own cold start with a
    model (SRV-2's), at least 10 s, never past the start-up budget (see SRV-12 for why that is enough)."""
    return min(budget, max(EMPTY_MODEL_MIN_S, EMPTY_MODEL_FACTOR * cold_start))


PROPERTY_BUDGET_S = 15.0
"""Seconds of payload generation per property check (SRV-4, SRV-7, SRV-8) by default, besides --max-examples."""


@dataclass(frozen=True)
class Options:
    """The user's knobs, from the command line or the ini file."""

    startup_budget: float = contract.STARTUP_BUDGET_S
    train_timeout: float = 600.0
    platform: str = contract.DEFAULT_PLATFORM
    max_examples: int = 25
    property_budget: float = PROPERTY_BUDGET_S
    concurrency: int | None = None
    """Containers starting or training at once; None: one per CPU of the engine (see :func:`concurrency`)."""


def concurrency(options: Options, engine_cpus: int) -> int:
    """How many containers may be starting (up to their first 200 on /ping) or training at once: the option, else
    one per CPU the engine has, at least one. A server that is up and answering holds no slot: the checks' own
    requests are not bounded by it."""
    return options.concurrency or max(1, engine_cpus)


def serving_ahead(default: Server) -> bool:
    """Whether the default server is fit for its variants to be started ahead of the checks: healthy, with its last
    ping under SageMaker's 2 s (otherwise SRV-2 fails and the variants' checks skip naming it)."""
    last = default.readiness.last
    return default.readiness.ready and last is not None and last.elapsed < contract.PING_TIMEOUT_S


DEFAULT, URGENT, AHEAD_OF_NEED = 0, 1, 2
"""The order in which waiting starts get a slot: the training run on the test-dir and the default server, which
every other container and most checks follow; then one a check waits for; then one started ahead of need."""


class Slots:
    """At most ``size`` containers starting or training at once, handed out in order of need (see DEFAULT): a start
    a check is waiting for goes before one made ahead of the checks, among those the one for the check with the
    longest wait still to come (:attr:`~conformance.registry.Clause.waits`), and otherwise the first asked is the
    first served (a plain semaphore wakes its waiters in any order, and a check could wait behind runs it does not
    need)."""

    def __init__(self, size: int) -> None:
        self._free = size
        self._changed = threading.Condition()
        self._waiting: list[list[Any]] = []
        """[urgency, -waits, ticket, key] per start waiting for a slot (see URGENT)."""
        self._tickets = 0

    @contextlib.contextmanager
    def hold(self, key: str, *, urgency: int, waits: float = 0.0) -> Iterator[None]:
        with self._changed:
            self._tickets += 1
            entry = [urgency, -waits, self._tickets, key]
            self._waiting.append(entry)
            self._changed.wait_for(lambda: self._free > 0 and min(self._waiting) is entry)
            self._waiting.remove(entry)
            self._free -= 1
            self._changed.notify_all()
        try:
            yield
        finally:
            with self._changed:
                self._free += 1
                self._changed.notify_all()

    def hurry(self, key: str) -> None:
        """A check now waits for the start of ``key``: serve it before what was only started ahead."""
        with self._changed:
            for entry in self._waiting:
                if entry[3] == key:
                    entry[0] = min(entry[0], URGENT)
            self._changed.notify_all()


AHEAD = "smc-ahead"
"""The name prefix of the threads that start containers ahead of the checks."""


class Certification:
    """Everything the checks of one image share, on one target.

    The checks run one after another, but their containers need not: :meth:`prefetch` starts, in the background,
    the training runs and serving configurations the selected checks will ask for, as soon as what each depends on
    is in (a variant run once the run on the test-dir has ended, a serving variant once the default server is
    healthy), at most :func:`concurrency` starting or training at once. A check that asks for a container being
    started waits for that start and shares it; nothing is started twice, and every cascade rule holds as when the
    check starts it itself.
    """

    def __init__(self, target: Target, test_dir: TestDir, options: Options, host: Host = HOST) -> None:
        self.target = target
        self.host = host
        """The machine's clock, load and quiet (conformance.fairness): the fake's runs on virtual time."""
        self.engine = target.engine
        self.image = target.image
        self.stage = target.stage
        self.test_dir = test_dir
        self.policy = test_dir.policy
        self.options = options
        self.containers_started = 0
        self.measurements: dict[str, float] = {}
        self._trainings: dict[str, TrainResult] = {}
        self._clusters: dict[str, tuple[TrainResult, ...]] = {}
        self._servers: dict[str, Server] = {}
        self._first_default: Server | None = None
        self._shared: dict[str, Any] = {}
        self.limits = Limits()
        """SageMaker's per-request limits, as the checks' requests have met them (conformance.limits)."""
        self._probes: dict[str, ArgumentProbe] = {}
        self.model_note: str | None = None
        """Where the served model came from when it is not the default training run's (said in each report)."""
        self.concurrency = concurrency(options, target.engine.cpus)
        self._slots = Slots(self.concurrency)
        self._lock = threading.Lock()
        self._starting: dict[str, tuple[int, concurrent.futures.Future[Any]]] = {}
        self._ahead: concurrent.futures.ThreadPoolExecutor | None = None
        self._launched: set[str] = set()
        self._default_serving = threading.Event()
        """Set once the default server holds its slot (or will never ask for one): the training variants wait
        for it, so that the server most checks need is not queued behind runs started only ahead of need."""
        self._checking = threading.local()
        self._closed = False
        self._planned: set[str] | None = None
        """The names of what the selected checks use (:meth:`select`); None when no selection was made (a check run
        on its own): then everything a check might ask for is started as before, SRV-12's server included."""
        self.second_server = True
        """Whether the replica checks run on a second server of the default configuration (:func:`second_server`)."""

    @property
    def timeline(self) -> Timeline:
        return self.target.timeline

    @property
    def clock(self) -> Clock:
        return self.host.clock

    @contextlib.contextmanager
    def quiet(self, clause_id: str) -> Iterator[None]:
        """Measure again with the other checks paused (:meth:`.fairness.Host.quiet`): they hold their next request,
        and the lanes their next check, until it is done."""
        with self.host.quiet(f"{self.image.reference} {clause_id}"):
            yield

    def pause_point(self, clause_id: str) -> None:
        """Where other work waits while a check measures in quiet (:meth:`quiet`)."""
        self.host.pause_point(f"{self.image.reference} {clause_id}")

    def shared(self, key: str, make: Callable[[], T]) -> T:
        """What ``make`` returns, made once for the whole certification whichever check asks first (an observation
        several checks judge, such as the model server's variables)."""

        def once() -> T:
            if key not in self._shared:
                self._shared[key] = make()
            return cast(T, self._shared[key])

        return self._once(f"shared {key}", once)

    def files(self) -> ImageFiles:
        """The image's file system, read without running it (IMG-1, IMG-3)."""
        return self.target.files()

    def probe_entrypoint(self, argument: str, shell: str) -> ArgumentProbe:
        """Run the image's wrapper ENTRYPOINT with ``argument`` and a stub of it on PATH (IMG-1), once."""

        def probe() -> ArgumentProbe:
            if argument not in self._probes:
                with self._slot(f"probe {argument}"):
                    self._probes[argument] = self.target.probe_entrypoint(argument, shell)
            return self._probes[argument]

        return self._once(f"probe {argument}", probe)

    # --- starting ahead ---------------------------------------------------------------------------
    def select(self, selected: Iterable[Clause]) -> None:
        """The clauses this certification will run: start what they use ahead of them (:meth:`prefetch`), and
        nothing they do not (a second default server, SRV-12's empty-model server)."""
        chosen = list(selected)
        self.second_server = second_server(chosen)
        planned = plan(chosen, self.policy)
        self._planned = {spec.name for spec in planned}
        self.prefetch(planned)

    def replica_spec(self, clause: Clause) -> ServeSpec:
        """The server of the default configuration that ``clause``'s check uses: its second for a replica check
        when there is one (:attr:`second_server`), else the default."""
        return SERVE_SECOND if clause.replica and self.second_server else SERVE_DEFAULT

    def prefetch(self, planned: Iterable[TrainSpec | ServeSpec]) -> None:
        """Start ahead of the checks the containers they will ask for (``planned``, from :func:`plan`): the
        training run on the test-dir and the default server first, each other one once what it depends on is in.
        Called before every check, acts once. A start that fails here is not kept: the check that asks for it
        meets the failure itself."""
        if self._ahead is not None or self._closed:
            return
        planned = list({spec.name: spec for spec in planned}.values())
        training = [spec for spec in planned if isinstance(spec, TrainSpec)]
        serving = [spec for spec in planned if isinstance(spec, ServeSpec)]
        # Threads that wait on a dependency hold no slot, so there may be more of them than slots.
        self._ahead = concurrent.futures.ThreadPoolExecutor(2 + len(planned), thread_name_prefix=AHEAD)
        if not (self.policy.serves and serving):
            self._default_serving.set()  # no default server is planned: nothing to let go first
        if self.policy.trains and training:
            self._ahead.submit(self._quietly, self._train_ahead, [s for s in training if s.name != TRAIN_DEFAULT.name])
        if self.policy.serves and serving:
            # SRV-12's server is started without waiting for its /ping, once the default server is healthy (_server).
            later = (SERVE_DEFAULT.name, SERVE_EMPTY_MODEL.name)
            self._ahead.submit(self._quietly, self._serve_ahead, [s for s in serving if s.name not in later])

    def _train_ahead(self, planned: list[TrainSpec]) -> None:
        default = self.train(TRAIN_DEFAULT)
        if default.hung:
            return  # no other run is started after one that never ended (see hung_dependency)
        training = working_training(self.train)
        if not training.trained:
            return  # most variants' checks then skip naming TRN-1: the few that run start their own
        # The run on the test-dir has just ended, and the default server, which waited for its model, is about to
        # ask for a slot: the variants, only started ahead of need, would otherwise take every free slot first.
        self._default_serving.wait()
        for spec in planned:
            self._start_ahead(self.train, variant_spec(spec, training))

    def _serve_ahead(self, planned: list[ServeSpec]) -> None:
        try:
            default = self.default_server()
        finally:
            self._default_serving.set()  # it failed before its slot (no model): the variants need not wait
        if serving_ahead(default):
            for spec in planned:
                self._start_ahead(self._variant_ahead, spec)

    def _variant_ahead(self, spec: ServeSpec) -> None:
        # Not through server(): that would ask for the default server again, and replace it if a check had just
        # broken it on purpose (SRV-8 judging a crash); its readiness was judged once, above.
        # Nor when a check has started it already: it may have stopped it on purpose (SRV-11).
        self._once(f"serve {spec.name}", lambda: None if spec.name in self._launched else self._server(spec))

    def _start_ahead(self, start: Callable[[T], object], spec: T) -> None:
        if self._ahead is not None and not self._closed:
            with contextlib.suppress(RuntimeError):  # the pool was shut down meanwhile: nothing more starts
                self._ahead.submit(self._quietly, start, spec)

    def _quietly(self, start: Callable[[T], object], spec: T) -> None:
        if self._closed:
            return
        with contextlib.suppress(Exception):
            start(spec)

    def _once(self, key: str, work: Callable[[], T], *, share: bool = True) -> T:
        """Run ``work`` for ``key``, or, when another thread is running work for it, wait for that run and share its
        outcome (result or exception); without ``share``, wait for it and then run ``work`` all the same (it finds
        what that run made: a server started ahead without waiting for its /ping is then waited for). The thread
        running it may ask again (a nested call runs directly)."""
        me = threading.get_ident()
        while True:
            with self._lock:
                running = self._starting.get(key)
                if running is None:
                    future: concurrent.futures.Future[Any] = concurrent.futures.Future()
                    self._starting[key] = (me, future)
                    break
            owner, shared = running
            if owner == me:
                return work()
            self._slots.hurry(key)
            if share:
                return cast(T, shared.result())
            concurrent.futures.wait([shared])
        try:
            result = work()
        except BaseException as error:
            future.set_exception(error)
            raise
        finally:
            with self._lock:
                del self._starting[key]
        future.set_result(result)
        return result

    @contextlib.contextmanager
    def checking(self, clause: Clause) -> Iterator[None]:
        """The calling thread runs the check of ``clause``: the starts it asks for are ranked by its wait."""
        self._checking.clause = clause
        try:
            yield
        finally:
            self._checking.clause = None

    @contextlib.contextmanager
    def _slot(self, key: str) -> Iterator[None]:
        """One of the :func:`concurrency` slots, for the start-up or training run of ``key``: the training run on
        the test-dir and the default server first, then what a check asks for (not a thread starting ahead)."""
        clause: Clause | None = getattr(self._checking, "clause", None)
        if key in (f"train {TRAIN_DEFAULT.name}", f"serve {SERVE_DEFAULT.name}"):
            urgency = DEFAULT
        elif not threading.current_thread().name.startswith(AHEAD):
            urgency = URGENT
        else:
            urgency = AHEAD_OF_NEED
        with self._slots.hold(key, urgency=urgency, waits=clause.waits if clause else 0.0):
            with self._lock:
                self.containers_started += 1
            if key == f"serve {SERVE_DEFAULT.name}":
                self._default_serving.set()
            yield

    # --- training -------------------------------------------------------------------------------
    def train(self, spec: TrainSpec = TRAIN_DEFAULT) -> TrainResult:
        if not self.policy.trains:
            raise CheckSkipped(f"profile is {self.policy.profile!r}: the image does not train")
        return self._once(f"train {spec.name}", lambda: self._train(spec))

    def _train(self, spec: TrainSpec) -> TrainResult:
        if spec.name in self._trainings:
            return self._trainings[spec.name]
        default = self._trainings.get(TRAIN_DEFAULT.name)
        if default is not None and default.hung:
            # Every run starts the same program: one that never ended on the test-dir would only cost the same again.
            raise hung_dependency(self, default)
        budget = run_budget(self.options.train_timeout, default)
        timeout = min(budget, spec.timeout) if spec.timeout else budget
        with self._slot(f"train {spec.name}"):
            result = self.target.train(spec, timeout=timeout, sigterm_after=spec.sigterm_after)
        self._trainings[spec.name] = result
        return result

    def train_cluster(self, spec: TrainSpec, *, delay: float) -> tuple[TrainResult, ...]:
        """One training job on every host of ``spec.hosts``, once (see :meth:`TrainingTarget.train_cluster`). Every
        run is bounded by ``--train-timeout`` (or the spec's own bound)."""
        if not self.policy.trains:
            raise CheckSkipped(f"profile is {self.policy.profile!r}: the image does not train")
        if spec.name not in self._clusters:
            timeout = min(self.options.train_timeout, spec.timeout or self.options.train_timeout)
            with self._slot(f"cluster {spec.name}"):
                self.containers_started += len(spec.hosts) - 1
                self._clusters[spec.name] = self.target.train_cluster(spec, delay=delay, timeout=timeout)
        return self._clusters[spec.name]

    def entrypoint_dependency(self, run: TrainResult) -> DependencyFailed | None:
        """A run that never ended because `train` never reached a training program is IMG-1's finding: the check
        that used it skips naming IMG-1 (None for any other run)."""
        if not run.hung:
            return None
        dependency = hung_dependency(self, run)
        return dependency if dependency.clause_id == "IMG-1" else None

    def model_source(self) -> Path:
        """The folder the served model comes from: the training run that trained (the default run, else the
        minimal-config run), else the test-dir's ``model/`` when it ships one; otherwise TRN-1 holds the failure.
        Sets :attr:`model_note` when the source is not the default run."""
        if not self.policy.trains:
            assert self.test_dir.model_dir is not None  # load() guarantees it for serve-only
            return self.test_dir.model_dir
        training = working_training(self.train)
        if training.trained:
            if training.full_form_rejected:
                self.model_note = MINIMAL_FORM_MODEL_NOTE
            return training.run.model_dir
        if self.test_dir.model_dir is not None:
            self.model_note = TEST_DIR_MODEL_NOTE
            return self.test_dir.model_dir
        if training.run.hung:
            raise hung_dependency(self, training.run)
        raise DependencyFailed("TRN-1", "training did not produce a model to serve (and the test-dir has no model/)")

    # --- serving --------------------------------------------------------------------------------
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
        # Not shared as is: what a thread ahead made (a server whose /ping it did not wait for, or nothing when a
        # check had started it already) is for this call's own _server to take up.
        return self._once(f"serve {spec.name}", lambda: self._server(spec), share=False)

    def default_server(self) -> Server:
        """The default server as first started, started now if it was not: its readiness is SRV-2's verdict, which
        every variant depends on, and its process table tells which stack the image runs. Never replaced here: a
        check on the default server may have broken the current one on purpose (SRV-8), or be loading it (SRV-13),
        and a check in another lane must not stop it under that check."""
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
        container = self._launch(spec, wait=True)
        wanted = self._planned is None or SERVE_EMPTY_MODEL.name in self._planned
        if spec.name == SERVE_DEFAULT.name and container.readiness.ready and wanted:
            # SRV-12's server starts now and is watched in the background while the other checks use this one; it is
            # judged when SRV-12 asks for it, by when most of its window has passed. Started by a thread ahead when
            # there is one, so that the checks waiting for the default server need not wait for its start too.
            if self._ahead is None:
                self._empty_model_ahead(container)
            else:
                self._start_ahead(self._empty_model_ahead, container)
        return container

    def _empty_model_ahead(self, default: Server) -> None:
        name = SERVE_EMPTY_MODEL.name
        self._once(
            f"serve {name}",
            lambda: None if name in self._launched else self._launch(SERVE_EMPTY_MODEL, wait=False, default=default),
        )

    def _launch(self, spec: ServeSpec, *, wait: bool, default: Server | None = None) -> Server:
        """Start the container of ``spec``; without ``wait`` its /ping is watched in the background until
        :meth:`server` asks for it."""
        model = self.model_source() if spec.model in ("trained", "multi") else None
        budget = self.options.startup_budget
        if spec.model == "empty":
            default = default or self.default_server()
            if not default.readiness.ready:
                raise DependencyFailed("SRV-2", default.readiness.describe())
            assert default.readiness.seconds is not None
            budget = empty_model_window(default.readiness.seconds, budget)
        via = self._servers.get(spec.network_of) if spec.network_of else None
        if spec.network_of and (via is None or not via.running()):
            raise HarnessError(f"serving container {spec.name!r} needs {spec.network_of!r} running first")
        with self._slot(f"serve {spec.name}"):
            container = self.target.server(spec, wait=wait, model=model, budget=budget)
        self._servers[spec.name] = container
        self._launched.add(spec.name)
        if spec.name == SERVE_DEFAULT.name and self._first_default is None:
            self._first_default = container
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

    def close(self) -> None:
        self._closed = True
        self._default_serving.set()  # a training thread waiting for the default server goes on, and finds it closed
        if self._ahead is not None:
            # What was queued is dropped; a start under way ends within its own bound, then its container is stopped.
            self._ahead.shutdown(wait=True, cancel_futures=True)
        servers = list(self._servers.values())
        self._servers.clear()
        if servers:
            # Side by side: each stop is an engine round trip and a wait for the container to go.
            with concurrent.futures.ThreadPoolExecutor(len(servers), thread_name_prefix="smc-stop") as stopping:
                list(stopping.map(_stop_quietly, servers))
        self.target.close()


def _stop_quietly(container: Server) -> None:
    with contextlib.suppress(Exception):
        container.stop()
