"""The image on a Docker engine: :class:`DockerTarget` implements :class:`conformance.targets.Target`.

Every call starts something new (a training run, a serving container); the Docker objects only these need are made
once: the model volume every serving container mounts read-only, the internal network of SRV-14 and the probe
container on it, the stopped container the image's files are read from. Every object carries the run's labels and is
removed by :meth:`DockerTarget.close`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shlex
import shutil
import tarfile
import threading
import time
from pathlib import Path

import docker

from conformance import contract
from conformance.entrypoint import ArgumentProbe
from conformance.failures import CheckSkipped, HarnessError
from conformance.fairness import HOST
from conformance.opt_ml import TrainSpec, stage_input
from conformance.targets import Capabilities, Engine, ServeSpec
from conformance.targets.docker import engine, netprobe
from conformance.targets.docker.entrypoint import probe_argument
from conformance.targets.docker.imagefs import ImageFiles
from conformance.targets.docker.netprobe import NetworkProbe
from conformance.targets.docker.networks import populate_volume
from conformance.targets.docker.serving import ServingContainer
from conformance.targets.docker.training import TrainingRun
from conformance.targets.results import EngineInfo, ImageInfo, TrainResult
from conformance.testdir import TestDir
from conformance.timeline import SERVING, TRAINING, Timeline

CAPABILITIES = Capabilities(host_reaches_internal_network=False)
"""A Docker engine may run containers in a VM (Docker Desktop) or a user namespace (rootless), where a container's
address on an internal network means nothing to the host: requests to such a container start from a probe container
on the same network (:mod:`conformance.targets.docker.netprobe`), which works wherever the engine is."""


def extract_data(archive: tarfile.TarFile, into: Path) -> None:
    """Extract ``archive`` into ``into`` as tarfile's "data" filter does: nothing outside ``into`` (absolute names,
    ``..``, links that point out), no device files. Pythons before 3.10.12 and 3.11.4 (Debian bookworm's 3.11.2)
    have no extraction filters: there the members are checked here first."""
    if hasattr(tarfile, "data_filter"):
        archive.extractall(into, filter="data")
        return
    root = into.resolve()
    for member in archive.getmembers():
        target = (root / member.name).resolve()
        link = (target.parent / member.linkname).resolve() if member.issym() or member.islnk() else target
        if member.isdev() or not target.is_relative_to(root) or not link.is_relative_to(root):
            raise tarfile.TarError(f"{member.name!r} would be extracted outside {into} or is a device file")
    archive.extractall(into)  # every member was checked above


CONFIG_FORMATS = {
    "os": "{{.Os}}",
    "architecture": "{{.Architecture}}",
    "user": "{{.Config.User}}",
    "env": "{{json .Config.Env}}",
}
"""``docker image inspect --format`` templates of the image config fields :class:`ImageCommands` names."""


@dataclasses.dataclass(frozen=True)
class ImageCommands:
    """:class:`conformance.targets.ImageCommands` as ``docker`` commands."""

    reference: str

    def show_config(self, *fields: str) -> str:
        template = "/".join(CONFIG_FORMATS[name] for name in fields)
        return f"docker image inspect --format '{template}' {self.reference}"

    def run(self, *argv: str) -> str:
        entrypoint, *arguments = argv
        return shlex.join(["docker", "run", "--rm", "--entrypoint", entrypoint, self.reference, *arguments])

    def build(self, platform: str) -> str:
        return f"docker buildx build --platform {platform} -t IMAGE ."


class DockerEngine:
    """A Docker engine for one session (:class:`conformance.targets.Engine`): everything its targets make carries the
    session's run id, so :meth:`cleanup` removes exactly that."""

    def __init__(self, client: docker.DockerClient, info: EngineInfo) -> None:
        self.client = client
        self.info = info
        self.run_id = engine.new_run_id()
        self.host = HOST
        """This machine: its clock and its load (conformance.fairness)."""

    def inspect(self, reference: str) -> ImageInfo:
        return engine.inspect_image(self.client, reference)

    def target(self, image: ImageInfo, test_dir: TestDir, stage: Path) -> DockerTarget:
        return DockerTarget(self.client, self.info, image, test_dir, stage, self.run_id)

    def prepare(self) -> None:
        engine.ensure_reaper()

    def cleanup(self) -> None:
        engine.cleanup(self.client, self.run_id)


def connect() -> Engine:
    """The plugin's default target factory: the engine DOCKER_HOST names (or the default socket), once what killed
    runs on this host left there is removed. Typed as the Protocol so that mypy holds DockerEngine (and DockerTarget)
    to it."""
    client, info = engine.connect()
    engine.reap_orphans(client)
    return DockerEngine(client, info)


class DockerTarget:
    """One image on one Docker engine (see :mod:`conformance.targets`)."""

    def __init__(
        self,
        client: docker.DockerClient,
        engine_info: EngineInfo,
        image: ImageInfo,
        test_dir: TestDir,
        stage: Path,
        run_id: str,
    ) -> None:
        self.client = client
        self.engine = engine_info
        self.image = image
        self.test_dir = test_dir
        self.stage = stage
        self.run_id = run_id
        self.capabilities = CAPABILITIES
        self.commands = ImageCommands(image.reference)
        self.timeline = Timeline()
        self._model: tuple[Path, str, Path] | None = None
        self._launched: dict[str, ServingContainer] = {}
        self._network: str | None = None
        self._probe: NetworkProbe | None = None
        self._files: ImageFiles | None = None
        self._made_once = threading.RLock()
        """Held while an object made once (the model volume, the network, the probe) is made: the certification
        starts containers from several threads."""
        stage.mkdir(parents=True, exist_ok=True)

    def labels(self, role: str) -> dict[str, str]:
        return engine.labels(self.run_id, role)

    def files(self) -> ImageFiles:
        """The image's file system, read without running it (IMG-1, IMG-3)."""
        with self._made_once:
            if self._files is None:
                self._files = ImageFiles(self.client, self.image.reference, self.labels("inspect"))
            return self._files

    def probe_entrypoint(self, argument: str, shell: str) -> ArgumentProbe:
        """Run the image's wrapper ENTRYPOINT with ``argument`` and a stub of it on PATH (IMG-1)."""
        return probe_argument(
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

    # --- training -------------------------------------------------------------------------------
    def train(self, spec: TrainSpec, *, timeout: float, sigterm_after: float | None = None) -> TrainResult:
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
        try:
            return run.run_to_completion(
                timeout, sigterm_after=sigterm_after, stop_at_checkpoint=spec.stop_at_checkpoint
            )
        finally:
            run.stop()
            engine.remove_network(self.client, network)

    def train_cluster(self, spec: TrainSpec, *, delay: float, timeout: float) -> tuple[TrainResult, ...]:
        """One training job on every host of ``spec.hosts``: a container per host, each with its own /opt/ml and
        current_host, on one network where each answers as its host; host n starts ``n * delay`` s after the
        first, as real hosts can."""
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
        results: dict[int, TrainResult] = {}

        def host_run(index: int) -> None:
            time.sleep(index * delay)
            results[index] = runs[index].run_to_completion(timeout)

        threads = [threading.Thread(target=host_run, args=(i,), daemon=True) for i in range(len(runs))]
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
        return tuple(results[i] for i in range(len(runs)))

    # --- serving --------------------------------------------------------------------------------
    def model_volume(self, source: Path) -> tuple[str, Path]:
        """The model volume every serving container mounts read-only, made once, and its extracted folder.

        The model goes through ``model.tar.gz`` exactly as SageMaker moves it from a training job to
        an endpoint: ``tar czf`` of ``/opt/ml/model``'s contents, extracted into a fresh directory.
        """
        with self._made_once:
            if self._model is None or self._model[0] != source:
                tarball = self.stage / "model.tar.gz"
                with tarfile.open(tarball, "w:gz") as archive:
                    for path in sorted(source.iterdir()):
                        archive.add(path, arcname=path.name)
                extracted = self.stage / "serve-model"
                if extracted.exists():
                    shutil.rmtree(extracted)
                extracted.mkdir()
                with tarfile.open(tarball) as archive:
                    extract_data(archive, extracted)
                volume = self.client.volumes.create(labels=self.labels("model")).name
                populate_volume(self.client, self.image.reference, volume, extracted, self.labels("model-loader"))
                self._model = (source, volume, extracted)
            return self._model[1], self._model[2]

    def multi_models(self, source: Path) -> Path:
        """A ``models`` folder with the served model under ``{folder}/model`` for each of MULTI_MODEL_PROBES (ENV-7)."""
        with self._made_once:
            _, extracted = self.model_volume(source)
            models = self.stage / "multi-model" / "models"
            if models.exists():
                shutil.rmtree(models)
            for _, folder in contract.MULTI_MODEL_PROBES:
                shutil.copytree(extracted, models / folder / "model")
            return models

    def server(self, spec: ServeSpec, *, wait: bool, model: Path | None, budget: float) -> ServingContainer:
        """Start the container of ``spec``; without ``wait`` its /ping is watched in a thread until
        :meth:`ServingContainer.await_ready`."""
        volume, model_stage = (
            self.model_volume(model) if spec.model == "trained" and model is not None else (None, None)
        )
        models = self.multi_models(model) if spec.model == "multi" and model is not None else None
        env = {k: v for k, v in spec.env.items() if k}
        network, probe = (None, None)
        if spec.isolated:
            network = self.isolated_network()
            probe = None if self.capabilities.host_reaches_internal_network else self.probe()
        container = ServingContainer(
            self.image.reference,
            labels=self.labels(f"serve-{spec.name}"),
            model_volume=volume,
            model_stage=model_stage,
            env=env,
            budget=budget,
            port=spec.port,
            network=network,
            probe=probe,
            span=self.timeline.span(SERVING, spec.name),
            publish=spec.publish,
            via=self._launched.get(spec.network_of) if spec.network_of else None,
            models=models,
            memory_mb=spec.memory_mb,
            cpus=spec.cpus,
            user=spec.user,
            read_only=spec.read_only,
            tmpfs=spec.tmpfs,
        )
        self._launched[spec.name] = container
        return container.start(wait=wait)

    def isolated_network(self) -> str:
        """The internal network (no egress) of the isolated serving container and its probe, made once."""
        with self._made_once:
            if self._network is None:
                self._network = engine.create_network(self.client, self.labels("isolated"), internal=True)
            return self._network

    def probe(self) -> NetworkProbe:
        """The client container on the isolated network (see :mod:`.netprobe`), started once."""
        with self._made_once:
            if self._probe is None:
                python = netprobe.interpreter(self.files(), self.image.path)
                if python is None:
                    raise CheckSkipped(netprobe.NO_INTERPRETER)
                probe = NetworkProbe(
                    self.client, self.image.reference, python, self.isolated_network(), self.labels("probe")
                )
                self._probe = probe.start()
            return self._probe

    def close(self) -> None:
        """Remove the objects made once; the serving containers in use are stopped by their user first, and
        anything left is swept by label."""
        if self._files is not None:
            self._files.close()
        self._launched.clear()
        if self._probe is not None:
            self._probe.remove()
        engine.cleanup(self.client, self.run_id)
