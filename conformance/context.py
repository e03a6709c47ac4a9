"""One image's certification: the containers it needs, started once and shared between checks.

:class:`Certification` owns the Docker objects of one image (training runs, serving containers,
the model volume) and starts each configuration at most once. :class:`CheckContext` is the view
a single check gets: it records which containers the check used, so that a failure carries their
logs and the commands to reproduce it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import shutil
import tarfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker

from conformance import contract, engine, netprobe
from conformance.entrypoint import ArgumentProbe, drops_argument, probe_argument, shell_wrapper
from conformance.failures import CheckSkipped, DependencyFailed, HarnessError, Section, Violation
from conformance.imagefs import ImageFiles
from conformance.limits import PING, Limits
from conformance.netprobe import NetworkProbe
from conformance.opt_ml import TRAIN_DEFAULT, TRAIN_MINIMAL_CONFIG, TrainSpec, stage_input
from conformance.targets.docker.networks import populate_volume
from conformance.targets.docker.serving import ServingContainer
from conformance.targets.docker.training import TrainingRun
from conformance.targets.results import TrainResult
from conformance.testdir import TestDir
from conformance.timeline import SERVING, TRAINING, Timeline


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


def entrypoint_drops(certification: Any, argument: str) -> str | None:
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


def hung_dependency(certification: Any, run: TrainResult) -> DependencyFailed:
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
    """Everything the checks of one image share."""

    def __init__(
        self,
        client: docker.DockerClient,
        engine_info: engine.EngineInfo,
        image: engine.ImageInfo,
        test_dir: TestDir,
        stage: Path,
        options: Options,
        run_id: str,
    ) -> None:
        self.client = client
        self.engine = engine_info
        self.image = image
        self.test_dir = test_dir
        self.policy = test_dir.policy
        self.stage = stage
        self.options = options
        self.run_id = run_id
        self.containers_started = 0
        self.measurements: dict[str, float] = {}
        self.timeline = Timeline()
        self.limits = Limits()
        self._trainings: dict[str, TrainResult] = {}
        self._clusters: dict[str, tuple[TrainResult, ...]] = {}
        self._servers: dict[str, ServingContainer] = {}
        self._model: tuple[str, Path] | None = None
        self.model_note: str | None = None
        """Where the served model came from when it is not the default training run's (said in each report)."""
        self._network: str | None = None
        self._probe: NetworkProbe | None = None
        self._files: ImageFiles | None = None
        self._probes: dict[str, ArgumentProbe] = {}
        stage.mkdir(parents=True, exist_ok=True)

    def files(self) -> ImageFiles:
        """The image's file system, read without running it (IMG-1, IMG-3)."""
        if self._files is None:
            self._files = ImageFiles(self.client, self.image.reference, self.labels("inspect"))
        return self._files

    def labels(self, role: str) -> dict[str, str]:
        return engine.labels(self.run_id, role)

    def probe_entrypoint(self, argument: str, shell: str) -> ArgumentProbe:
        """Run the image's wrapper ENTRYPOINT with ``argument`` and a stub of it on PATH (IMG-1), once."""
        if argument not in self._probes:
            self.containers_started += 1
            self._probes[argument] = probe_argument(
                self.client,
                self.image.reference,
                entrypoint=self.image.entrypoint or (),
                shell=shell,
                path=self.image.path,
                argument=argument,
                names=(contract.TRAIN_ARG, contract.SERVE_ARG),
                # Surroundings that point the other way, so that a script guessing the mode is caught.
                decoy_folders=(contract.INPUT_CONFIG_DIR,) if argument == contract.SERVE_ARG else (),
                labels=self.labels(f"entrypoint-probe-{argument}"),
            )
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
            directory = self.stage / f"train-{spec.name}"
            if directory.exists():
                shutil.rmtree(directory)
            stage_input(self.test_dir, spec, directory)
            labels = self.labels(f"train-{spec.name}")
            network = engine.create_network(self.client, labels, internal=not spec.egress)
            run = TrainingRun(
                self.image.reference,
                stage=directory,
                labels=labels,
                network=network,
                internal=not spec.egress,
                # Every name in hosts resolves, as on SageMaker once its hosts are up (AWS's training toolkit waits
                # up to 15 min for that); a lone host's other hosts resolve to itself: no program answers for them.
                hosts=tuple(dict.fromkeys((spec.current_host, *spec.hosts))),
                hostname=spec.hostname,
                span=self.timeline.span(TRAINING, spec.name),
            )
            self.containers_started += 1
            budget = run_budget(self.options.train_timeout, default)
            timeout = min(budget, spec.timeout) if spec.timeout else budget
            try:
                self._trainings[spec.name] = run.run_to_completion(
                    timeout, sigterm_after=sigterm_after, stop_at_checkpoint=spec.stop_at_checkpoint
                )
            finally:
                run.stop()
                engine.remove_network(self.client, network)
        return self._trainings[spec.name]

    def train_cluster(self, spec: TrainSpec, *, delay: float) -> tuple[TrainResult, ...]:
        """One training job on every host of ``spec.hosts``, once: a container per host, each with its own /opt/ml
        and current_host, on one network where each answers as its host; host n starts ``n * delay`` s after the
        first, as real hosts can. Every run is bounded by ``--train-timeout`` (or the spec's own bound)."""
        if not self.policy.trains:
            raise CheckSkipped(f"profile is {self.policy.profile!r}: the image does not train")
        if spec.name not in self._clusters:
            labels = self.labels(f"train-{spec.name}")
            network = engine.create_network(self.client, labels, internal=not spec.egress)
            runs: list[TrainingRun] = []
            for host in spec.hosts:
                host_spec = dataclasses.replace(spec, name=f"{spec.name}-{host}", current_host=host)
                directory = self.stage / f"train-{host_spec.name}"
                if directory.exists():
                    shutil.rmtree(directory)
                stage_input(self.test_dir, host_spec, directory)
                runs.append(
                    TrainingRun(
                        self.image.reference,
                        stage=directory,
                        labels=self.labels(f"train-{host_spec.name}"),
                        network=network,
                        internal=not spec.egress,
                        hosts=(host,),
                        hostname=spec.hostname,
                        span=self.timeline.span(TRAINING, host_spec.name),
                    )
                )
            timeout = min(self.options.train_timeout, spec.timeout or self.options.train_timeout)
            results: dict[int, TrainResult] = {}

            def host_run(index: int) -> None:
                time.sleep(index * delay)
                results[index] = runs[index].run_to_completion(timeout)

            threads = [threading.Thread(target=host_run, args=(i,), daemon=True) for i in range(len(runs))]
            self.containers_started += len(runs)
            try:
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
            finally:
                for run in runs:
                    with contextlib.suppress(Exception):  # a host whose thread failed may never have started
                        run.stop()
                engine.remove_network(self.client, network)
            if len(results) != len(runs):
                raise HarnessError(f"a host of the training job '{spec.name}' could not be run")
            self._clusters[spec.name] = tuple(results[i] for i in range(len(runs)))
        return self._clusters[spec.name]

    def model(self) -> tuple[str, Path]:
        """The model volume every serving container mounts read-only, made once.

        The model goes through ``model.tar.gz`` exactly as SageMaker moves it from a training job to
        an endpoint: ``tar czf`` of ``/opt/ml/model``'s contents, extracted into a fresh directory.
        """
        if self._model is None:
            source = self.model_source()
            tarball = self.stage / "model.tar.gz"
            with tarfile.open(tarball, "w:gz") as archive:
                for path in sorted(source.iterdir()):
                    archive.add(path, arcname=path.name)
            extracted = self.stage / "serve-model"
            if extracted.exists():
                shutil.rmtree(extracted)
            extracted.mkdir()
            with tarfile.open(tarball) as archive:
                archive.extractall(extracted, filter="data")
            volume = self.client.volumes.create(labels=self.labels("model")).name
            populate_volume(self.client, self.image.reference, volume, extracted, self.labels("model-loader"))
            self._model = (volume, extracted)
        return self._model

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
    def server(self, spec: ServeSpec = SERVE_DEFAULT) -> ServingContainer:
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

    def _launch(self, spec: ServeSpec, *, wait: bool) -> ServingContainer:
        """Start the container of ``spec``; without ``wait`` its /ping is watched in a thread until
        :meth:`server` asks for it."""
        volume, model_stage = self.model() if spec.model == "trained" else (None, None)
        models = self.multi_models() if spec.model == "multi" else None
        budget = self.options.startup_budget
        if spec.model == "empty":
            default = self.server(SERVE_DEFAULT)
            if not default.readiness.ready:
                raise DependencyFailed("SRV-2", default.readiness.describe())
            assert default.readiness.seconds is not None
            budget = empty_model_window(default.readiness.seconds, budget)
        env = {k: v for k, v in spec.env.items() if k}
        network, probe = (self.isolated_network(), self.probe()) if spec.isolated else (None, None)
        via = self._servers.get(spec.network_of) if spec.network_of else None
        if spec.network_of and (via is None or not via.running()):
            raise HarnessError(f"serving container {spec.name!r} needs {spec.network_of!r} running first")
        container = ServingContainer(
            self.image.reference,
            labels=self.labels(f"serve-{spec.name}"),
            model_volume=volume,
            model_stage=model_stage,
            env=env,
            budget=budget,
            port=spec.port,
            limits=self.limits,
            network=network,
            probe=probe,
            span=self.timeline.span(SERVING, spec.name),
            publish=spec.publish,
            via=via,
            models=models,
            memory_mb=spec.memory_mb,
            cpus=spec.cpus,
        )
        self.containers_started += 1
        self._servers[spec.name] = container
        return container.start(wait=wait)

    def ready_server(self, spec: ServeSpec = SERVE_DEFAULT) -> ServingContainer:
        container = self.server(spec)
        if not container.readiness.ready:
            raise DependencyFailed("SRV-2", container.readiness.describe())
        return container

    def multi_models(self) -> Path:
        """A ``models`` folder with the served model under ``{folder}/model`` for each of MULTI_MODEL_PROBES (ENV-7)."""
        _, extracted = self.model()
        models = self.stage / "multi-model" / "models"
        if models.exists():
            shutil.rmtree(models)
        for _, folder in contract.MULTI_MODEL_PROBES:
            shutil.copytree(extracted, models / folder / "model")
        return models

    def isolated_network(self) -> str:
        """The internal network (no egress) of the isolated serving container and its probe, made once."""
        if self._network is None:
            self._network = engine.create_network(self.client, self.labels("isolated"), internal=True)
        return self._network

    def probe(self) -> NetworkProbe:
        """The client container on the isolated network (see :mod:`conformance.netprobe`), started once."""
        if self._probe is None:
            python = netprobe.interpreter(self.files(), self.image.path)
            if python is None:
                raise CheckSkipped(netprobe.NO_INTERPRETER)
            probe = NetworkProbe(
                self.client, self.image.reference, python, self.isolated_network(), self.labels("probe")
            )
            self._probe = probe.start()
        return self._probe

    def discard(self, spec: ServeSpec) -> None:
        """Forget a container a check stopped on purpose (SIGTERM), so nobody reuses it."""
        container = self._servers.pop(spec.name, None)
        if container is not None:
            container.stop()

    def close(self) -> None:
        if self._files is not None:
            self._files.close()
        for container in self._servers.values():
            try:
                container.stop()
            except Exception:
                pass
        self._servers.clear()
        if self._probe is not None:
            self._probe.remove()
        engine.cleanup(self.client, self.run_id)


class CheckContext:
    """What one check sees: the shared certification, plus a record of what the check used."""

    def __init__(self, certification: Certification, clause_id: str = "") -> None:
        self.certification = certification
        self.clause_id = clause_id
        self.limits: Limits = certification.limits
        self.limits.clause = clause_id
        self.image = certification.image
        self.policy = certification.policy
        self.test_dir = certification.test_dir
        self.stage = certification.stage
        self.options = certification.options
        self.engine = certification.engine
        self.measurements: dict[str, float] = {}
        self.notes: list[str] = []
        self._used: list[tuple[str, Callable[[], str], tuple[str, ...]]] = []

    def train(self, spec: TrainSpec = TRAIN_DEFAULT, *, sigterm_after: float | None = None) -> TrainResult:
        result = self.certification.train(spec, sigterm_after=sigterm_after)
        self._use(f"training run '{spec.name}' logs", lambda: result.logs, result.reproduce)
        if result.hung:
            # A run that never ended because `train` never reached a training program is IMG-1's finding.
            dependency = hung_dependency(self.certification, result)
            if dependency.clause_id == "IMG-1":
                raise dependency
        return result

    def train_cluster(self, spec: TrainSpec, *, delay: float) -> tuple[TrainResult, ...]:
        """A training job on every host of ``spec.hosts`` (see :meth:`Certification.train_cluster`)."""
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

    def server(self, spec: ServeSpec = SERVE_DEFAULT, *, ready: bool = True) -> ServingContainer:
        if ready or spec.name not in (SERVE_DEFAULT.name, SERVE_EMPTY_MODEL.name):
            # A ping over the limit on an idle server is SRV-2's failure: what needs a healthy server skips.
            self.limits.refuse(PING)
        getter = self.certification.ready_server if ready else self.certification.server
        try:
            container = getter(spec)
        finally:
            current = self.certification._servers.get(spec.name)
            if current is not None:
                self._use(f"serving container '{spec.name}' logs", current.logs, current.reproduce())
            note = self.certification.model_note
            if spec.model == "trained" and note and note not in self.notes:
                self.note(note)
        return container

    def discard(self, spec: ServeSpec) -> None:
        self.certification.discard(spec)

    def breach(self, kind: str, violation: Violation) -> None:
        """Keep a limit this check saw broken (conformance.limits): later checks that need it skip naming it."""
        self.limits.record(kind, violation)

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


def wait_for(condition: Callable[[], bool], timeout: float, interval: float = 0.25) -> bool:
    """Poll ``condition`` until true or ``timeout``; for observations that settle (worker counts)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


__all__ = [
    "SERVE_DEFAULT",
    "Certification",
    "CheckContext",
    "HarnessError",
    "Options",
    "ServeSpec",
    "Training",
    "working_training",
]
