"""The sharing and cascade rules of one certification, over any :class:`~conformance.targets.Target`.

:class:`Certification` starts each training run and serving configuration at most once and shares it between the
checks; it knows which clause a failure belongs to, so that what depends on it skips naming it: a variant of the
default server needs that server healthy (SRV-2); a server an earlier check broke is replaced; training that never
ended is TRN-1's, or IMG-1's when the entrypoint never passed `train` on; a model that never came is TRN-1's. It
speaks only to the Protocols of :mod:`conformance.targets`, so the unit tests run it on their fake.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from conformance import contract
from conformance.entrypoint import ArgumentProbe, drops_argument, shell_wrapper
from conformance.failures import CheckSkipped, DependencyFailed, HarnessError
from conformance.limits import Limits
from conformance.opt_ml import TRAIN_DEFAULT, TRAIN_MINIMAL_CONFIG, TrainSpec
from conformance.targets import ImageFiles, Server, ServeSpec, Target
from conformance.targets.results import TrainResult
from conformance.testdir import TestDir
from conformance.timeline import Timeline

SERVE_DEFAULT = ServeSpec("default")
SERVE_SIGTERM = ServeSpec("sigterm")
SERVE_EMPTY_MODEL = ServeSpec("empty-model", model="empty")
SERVE_ISOLATED = ServeSpec("isolated", isolated=True)


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


class Certification:
    """Everything the checks of one image share, on one target."""

    def __init__(self, target: Target, test_dir: TestDir, options: Options) -> None:
        self.target = target
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
        self._probes: dict[str, ArgumentProbe] = {}
        self.model_note: str | None = None
        """Where the served model came from when it is not the default training run's (said in each report)."""

    @property
    def timeline(self) -> Timeline:
        return self.target.timeline

    @property
    def limits(self) -> Limits:
        return self.target.limits

    def files(self) -> ImageFiles:
        """The image's file system, read without running it (IMG-1, IMG-3)."""
        return self.target.files()

    def probe_entrypoint(self, argument: str, shell: str) -> ArgumentProbe:
        """Run the image's wrapper ENTRYPOINT with ``argument`` and a stub of it on PATH (IMG-1), once."""
        if argument not in self._probes:
            self.containers_started += 1
            self._probes[argument] = self.target.probe_entrypoint(argument, shell)
        return self._probes[argument]

    # --- training -------------------------------------------------------------------------------
    def train(self, spec: TrainSpec = TRAIN_DEFAULT, *, sigterm_after: float | None = None) -> TrainResult:
        if not self.policy.trains:
            raise CheckSkipped(f"profile is {self.policy.profile!r}: the image does not train")
        default = self._trainings.get(TRAIN_DEFAULT.name)
        if spec.name not in self._trainings and default is not None and default.hung:
            # Every run starts the same program: one that never ended on the test-dir would only cost the same again.
            raise hung_dependency(self, default)
        if spec.name not in self._trainings:
            self.containers_started += 1
            budget = run_budget(self.options.train_timeout, default)
            timeout = min(budget, spec.timeout) if spec.timeout else budget
            self._trainings[spec.name] = self.target.train(spec, timeout=timeout, sigterm_after=sigterm_after)
        return self._trainings[spec.name]

    def train_cluster(self, spec: TrainSpec, *, delay: float) -> tuple[TrainResult, ...]:
        """One training job on every host of ``spec.hosts``, once (see :meth:`TrainingTarget.train_cluster`). Every
        run is bounded by ``--train-timeout`` (or the spec's own bound)."""
        if not self.policy.trains:
            raise CheckSkipped(f"profile is {self.policy.profile!r}: the image does not train")
        if spec.name not in self._clusters:
            timeout = min(self.options.train_timeout, spec.timeout or self.options.train_timeout)
            self.containers_started += len(spec.hosts)
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
            default = self.server(SERVE_DEFAULT)
            if not default.readiness.ready:
                raise DependencyFailed("SRV-2", default.readiness.describe())
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
        if (
            spec.name == SERVE_DEFAULT.name
            and container.readiness.ready
            and SERVE_EMPTY_MODEL.name not in self._servers
        ):
            # SRV-12's server starts now and is watched in the background while the other checks use this one; it is
            # judged when SRV-12 asks for it, by when most of its window has passed.
            self._launch(SERVE_EMPTY_MODEL, wait=False)
        return container

    def _launch(self, spec: ServeSpec, *, wait: bool) -> Server:
        """Start the container of ``spec``; without ``wait`` its /ping is watched in the background until
        :meth:`server` asks for it."""
        model = self.model_source() if spec.model in ("trained", "multi") else None
        budget = self.options.startup_budget
        if spec.model == "empty":
            default = self.server(SERVE_DEFAULT)
            if not default.readiness.ready:
                raise DependencyFailed("SRV-2", default.readiness.describe())
            assert default.readiness.seconds is not None
            budget = empty_model_window(default.readiness.seconds, budget)
        via = self._servers.get(spec.network_of) if spec.network_of else None
        if spec.network_of and (via is None or not via.running()):
            raise HarnessError(f"serving container {spec.name!r} needs {spec.network_of!r} running first")
        container = self.target.server(spec, wait=wait, model=model, budget=budget)
        self.containers_started += 1
        self._servers[spec.name] = container
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
        for container in self._servers.values():
            with contextlib.suppress(Exception):
                container.stop()
        self._servers.clear()
        self.target.close()
