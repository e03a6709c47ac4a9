"""The sharing and cascade rules of one certification, over any :class:`~conformance.targets.Target`.

:class:`Certification` starts each training run at most once and shares it between the checks, and makes the
containers the selected checks will ask for nodes of the certification's graph; its serving half, each serving
configuration's container, is :class:`conformance.servers.Servers`. It knows which clause a failure belongs to, so
that what depends on it skips naming it: training that never ended is TRN-1's, or IMG-1's when the entrypoint never
passed `train` on; a model that never came is TRN-1's. It speaks only to the Protocols of :mod:`conformance.targets`,
so the unit tests run it on their fake.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast, overload

from conformance import contract
from conformance.clock import Clock
from conformance.entrypoint import ArgumentProbe, drops_argument, shell_wrapper
from conformance.failures import CheckSkipped, DependencyFailed
from conformance.fairness import HOST, Host
from conformance.limits import Limits
from conformance.opt_ml import SHAREABLE, TRAIN_DEFAULT, TrainSpec, combine
from conformance.options import Options, concurrency
from conformance.registry import LEAD, Clause, Level, Phase
from conformance.scheduler import Node, Scheduler
from conformance.servers import SERVE_DEFAULT, SERVE_SECOND, SERVE_SIGTERM, Servers, serve_key, serving_shares
from conformance.targets import ImageFiles, ServeSpec, Target
from conformance.targets.results import TrainResult
from conformance.testdir import Policy, TestDir
from conformance.timeline import Timeline
from conformance.trainings import (
    MINIMAL_FORM_MODEL_NOTE,
    MINIMAL_SUFFIX,
    TEST_DIR_MODEL_NOTE,
    minimal_form,
    run_budget,
    trained_cleanly,
    variant_spec,
    working_training,
)

T = TypeVar("T")


def shares(specs: Iterable[TrainSpec]) -> dict[str, TrainSpec]:
    """The one run that stands for the shareable ones among ``specs`` (:func:`conformance.opt_ml.combine`), by
    each one's name; none for fewer than two."""
    shareable = list({spec.name: spec for spec in specs if spec.shareable}.values())
    if len(shareable) < 2:
        return {}
    combined = combine(shareable)
    return {spec.name: combined for spec in shareable}


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


START_WEIGHT = 2.0
"""A container start's weight in the graph (conformance.scheduler), in seconds like :attr:`Clause.waits`."""


def node_key(spec: TrainSpec | ServeSpec) -> str:
    """The graph node (and the lock) of the run or server ``spec``; a variant in its minimal-config form is the
    node of the variant planned."""
    if isinstance(spec, TrainSpec):
        return f"train {spec.name.removesuffix(MINIMAL_SUFFIX)}"
    return serve_key(spec)


class Certification(Servers):
    """Everything the checks of one image share, on one target.

    Each training run and serving configuration is started once, whichever check or graph node asks first, and
    shared. :meth:`container_nodes` makes them nodes of the certification's graph (:attr:`scheduler`), so that the
    containers the selected checks will ask for are started ahead of them, each once what it depends on is in (a
    variant run once the run on the test-dir has ended, a serving variant once the default server is healthy), at
    most :func:`concurrency` starting or training at once. A check asking for a container a node is starting waits
    for that node and shares what it made; every cascade rule holds as when the check starts it itself.
    """

    def __init__(self, target: Target, test_dir: TestDir, options: Options, host: Host = HOST) -> None:
        super().__init__()
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
        self._shared: dict[str, Any] = {}
        self.limits = Limits()
        """SageMaker's per-request limits, as the checks' requests have met them (conformance.limits)."""
        self._probes: dict[str, ArgumentProbe] = {}
        self.model_note: str | None = None
        """Where the served model came from when it is not the default training run's (said in each report)."""
        self.concurrency = concurrency(options, target.engine.cpus)
        self.scheduler = Scheduler(self.concurrency)
        """The certification's graph: the containers started ahead and the clauses (conformance.graph)."""
        self._lock = threading.Lock()
        self._keys: dict[str, threading.RLock] = {}
        self.second_server = True
        """Whether the replica checks run on a second server of the default configuration (:func:`second_server`)."""
        self._shares = shares(SHAREABLE)
        self._beside_default: set[str] = set()
        """The serving variants started with the default server rather than after it (:meth:`container_nodes`)."""
        """Each shareable run's name -> the one run shared by the selected shareable runs (:func:`shares`)."""

    @property
    def timeline(self) -> Timeline:
        return self.target.timeline

    @contextlib.contextmanager
    def _key(self, key: str) -> Iterator[None]:
        """One start at a time for ``key``: a second asker waits, then finds what the first made."""
        with self._lock:
            lock = self._keys.setdefault(key, threading.RLock())
        with lock:
            yield

    @contextlib.contextmanager
    def _start_slot(self, containers: int = 1) -> Iterator[None]:
        """A slot of the scheduler for a container starting or training (the one a node holds, if it is one), once no
        other certification on the host measures in quiet."""
        self.host.pause_for_other_certifications(self.image.reference)
        with self.scheduler.slot():
            with self._lock:
                self.containers_started += containers
            yield

    @property
    def clock(self) -> Clock:
        return self.host.clock

    @contextlib.contextmanager
    def quiet(self, clause_id: str) -> Iterator[None]:
        """Measure again with the other checks paused (:meth:`.fairness.Host.quiet`): they hold their next request,
        and the graph its next check, until it is done."""
        with self.host.quiet(f"{self.image.reference} {clause_id}"):
            yield

    def pause_point(self, clause_id: str) -> None:
        """Where other work waits while a check measures in quiet (:meth:`quiet`)."""
        self.host.pause_point(f"{self.image.reference} {clause_id}")

    def shared(self, key: str, make: Callable[[], T]) -> T:
        """What ``make`` returns, made once for the whole certification whichever check asks first (an observation
        several checks judge, such as the model server's variables)."""
        with self._key(f"shared {key}"):
            if key not in self._shared:
                self._shared[key] = make()
            return cast(T, self._shared[key])

    def files(self) -> ImageFiles:
        """The image's file system, read without running it (IMG-1, IMG-3)."""
        return self.target.files()

    def probe_entrypoint(self, argument: str, shell: str) -> ArgumentProbe:
        """Run the image's wrapper ENTRYPOINT with ``argument`` and a stub of it on PATH (IMG-1), once."""
        with self._key(f"probe {argument}"):
            if argument not in self._probes:
                with self._start_slot():
                    self._probes[argument] = self.target.probe_entrypoint(argument, shell)
            return self._probes[argument]

    # --- the graph's containers -------------------------------------------------------------------
    def select(self, selected: Iterable[Clause]) -> list[TrainSpec | ServeSpec]:
        """The clauses this certification will run: what they use (:func:`plan`), and whether the replica checks
        get a second server (nothing starts a second default server or SRV-12's server they do not use)."""
        chosen = list(selected)
        self.second_server = second_server(chosen)
        planned = [spec for spec in plan(chosen, self.policy) if self.claims(spec)]
        self._beside_default = {
            spec.name
            for clause in chosen
            if clause.waits
            for spec in clause.planned(self.policy)
            if isinstance(spec, ServeSpec)
        }
        self._shares = shares([spec for spec in planned if isinstance(spec, TrainSpec)])
        self._serve_shares = serving_shares([spec for spec in planned if isinstance(spec, ServeSpec)])
        return planned

    def claims(self, spec: TrainSpec | ServeSpec) -> bool:
        """Whether the image claims the configuration ``spec`` (:attr:`ServeSpec.capability`): nothing is started for
        one it does not, and its check skips."""
        if not isinstance(spec, ServeSpec) or spec.capability is None:
            return True
        return self.image.labels.get(spec.capability, "").lower() == "true"

    def replica_spec(self, clause: Clause) -> ServeSpec:
        """The server of the default configuration that ``clause``'s check uses: its second for a replica check
        when there is one (:attr:`second_server`), else the default."""
        return SERVE_SECOND if clause.replica and self.second_server else SERVE_DEFAULT

    @overload
    def started_as(self, spec: TrainSpec) -> TrainSpec: ...
    @overload
    def started_as(self, spec: ServeSpec) -> ServeSpec: ...
    def started_as(self, spec: TrainSpec | ServeSpec) -> TrainSpec | ServeSpec:
        """What is started for ``spec``: the run or server it shares with the other selected shareable ones
        (:func:`shares`, :func:`conformance.servers.serving_shares`); for SRV-11's stop, the second server of the
        default configuration when there is one; else itself. Its :func:`node_key` is the graph node a check using
        ``spec`` comes after."""
        if isinstance(spec, TrainSpec):
            return self._shares.get(spec.name.removesuffix(MINIMAL_SUFFIX), spec)
        if spec == SERVE_SIGTERM and self.second_server:
            # A stop needs a server of the default configuration and nothing after it: the second one, once the
            # checks on it are done (the graph orders it so), rather than a start of its own.
            return SERVE_SECOND
        return self.share_of(spec) or spec

    def container_nodes(self, planned: Iterable[TrainSpec | ServeSpec]) -> list[Node]:
        """The graph nodes that start ``planned`` (from :func:`plan`) ahead of the checks: the training run on the
        test-dir and the default server, then each variant once what it depends on is done. A start that fails in
        a node is not kept: the check that asks for it meets the failure itself."""
        runs = [self.started_as(spec) for spec in planned]
        unique = list({node_key(spec): spec for spec in runs}.values())  # TRN-7's run and SRV-11's server: "sigterm"
        training = [s for s in unique if isinstance(s, TrainSpec)] if self.policy.trains else []
        serving = [s for s in unique if isinstance(s, ServeSpec)] if self.policy.serves else []
        default_run, default_server = node_key(TRAIN_DEFAULT), node_key(SERVE_DEFAULT)
        nodes = []
        if self.policy.trains and (training or serving):  # the default server serves the default run's model
            nodes.append(Node(default_run, self._train_default_ahead, limited=True, weight=START_WEIGHT))
        for spec in training:
            if spec.name != TRAIN_DEFAULT.name:
                nodes.append(Node(node_key(spec), partial(self._train_ahead, spec), (default_run,), None, True))
        if serving:
            nodes.append(Node(default_server, self._serve_default_ahead, (default_run,), None, True))
        for variant in serving:
            if variant.name in self._beside_default:
                # A check that waits by design once its server is up (ENV-3's T): its server is the start of the
                # certification's longest path, so it starts with the default server, not after it.
                trained = (default_run,) if self.policy.trains else ()
                nodes.append(Node(node_key(variant), partial(self._serve_beside, variant), trained, None, True))
            elif variant.name != SERVE_DEFAULT.name:
                nodes.append(
                    Node(node_key(variant), partial(self._serve_ahead, variant), (default_server,), None, True)
                )
        return [dataclasses.replace(node, weight=START_WEIGHT) for node in nodes]

    def _train_default_ahead(self) -> None:
        with contextlib.suppress(Exception):
            working_training(self._train_once)

    def _train_ahead(self, spec: TrainSpec) -> None:
        default = self._trainings.get(TRAIN_DEFAULT.name)
        if default is None or default.hung:
            return  # no other run is started after one that never ended (see hung_dependency)
        training = working_training(self._train_once)
        if training.trained:  # otherwise most variants' checks skip naming TRN-1: the few that run start their own
            with contextlib.suppress(Exception):
                self._train_once(variant_spec(spec, training))

    # --- training -------------------------------------------------------------------------------
    def train(self, spec: TrainSpec = TRAIN_DEFAULT) -> TrainResult:
        if not self.policy.trains:
            raise CheckSkipped(f"profile is {self.policy.profile!r}: the image does not train")
        shared = self._shared_run(spec)
        if shared is not None:
            return shared
        self.scheduler.wait(node_key(spec))  # a node starting it ahead: share what it made
        return self._train_once(spec)

    def _shared_run(self, spec: TrainSpec) -> TrainResult | None:
        """The run shared by ``spec`` and the other selected shareable runs, when it trained cleanly; None when
        ``spec`` shares no run, or the shared one failed (then ``spec`` runs on its own, and its clause judges its
        own condition alone)."""
        combined = self._shares.get(spec.name.removesuffix(MINIMAL_SUFFIX))
        if combined is None:
            return None
        if spec.config_form == "minimal":
            combined = minimal_form(combined)
        self.scheduler.wait(node_key(combined))
        result = self._train_once(combined)
        return result if trained_cleanly(result) else None

    def _train_once(self, spec: TrainSpec) -> TrainResult:
        with self._key(f"train {spec.name}"):
            if spec.name in self._trainings:
                return self._trainings[spec.name]
            default = self._trainings.get(TRAIN_DEFAULT.name)
            if default is not None and default.hung:
                # Every run starts the same program: one that never ended on the test-dir would cost the same again.
                raise hung_dependency(self, default)
            budget = run_budget(self.options.train_timeout, default)
            timeout = min(budget, spec.timeout) if spec.timeout else budget
            with self._start_slot():
                result = self.target.train(spec, timeout=timeout, sigterm_after=spec.sigterm_after)
            self._trainings[spec.name] = result
            return result

    def train_cluster(self, spec: TrainSpec, *, delay: float) -> tuple[TrainResult, ...]:
        """One training job on every host of ``spec.hosts``, once (see :meth:`TrainingTarget.train_cluster`). Every
        run is bounded by ``--train-timeout`` (or the spec's own bound)."""
        if not self.policy.trains:
            raise CheckSkipped(f"profile is {self.policy.profile!r}: the image does not train")
        with self._key(f"cluster {spec.name}"):
            if spec.name not in self._clusters:
                timeout = min(self.options.train_timeout, spec.timeout or self.options.train_timeout)
                with self._start_slot(len(spec.hosts)):
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

    def close(self) -> None:
        # What was not started is dropped; a node under way ends within its own bound, then its container is stopped.
        self.scheduler.close()
        self.stop_servers()
        self.target.close()
