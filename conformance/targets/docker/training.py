"""``docker run IMAGE train`` as SageMaker runs it: a thin testcontainers class, artifacts copied out.

Files are copied in and out through the engine's archive API, never bind-mounted from the host, so the harness
works against a remote engine too. The directories SageMaker replaces at run time are fresh volumes created with
``nocopy``, so nothing the image baked there shows through.
"""

from __future__ import annotations

import io
import shlex
import tarfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import docker.errors
import requests
from testcontainers.core.container import DockerContainer

from conformance import contract
from conformance.pid1 import HANDLER_WAIT_S, StopResult
from conformance.procs import listening_sockets
from conformance.targets.docker.networks import REPRODUCE_NETWORK, network_kwargs, reproduce_network, volume_mounts
from conformance.targets.docker.pid1 import await_sigterm_handler, stop_container
from conformance.targets.results import SERVER_AFTER_S, TrainResult
from conformance.timeline import TRAINING, Span

SERVER_LOOK_S: Final = 5.0
"""How often a run past :data:`SERVER_AFTER_S` is looked at (one ``docker exec`` of ``cat /proc/net/tcp``)."""


def serving_instead(container: Any) -> str | None:
    """The listener on port 8080 of a running training container that has no model yet; None otherwise (also when
    the image has no ``cat`` to read /proc/net/tcp with)."""
    try:
        code, output = container.exec_run(["cat", "/proc/net/tcp", "/proc/net/tcp6"])
    except docker.errors.APIError:
        return None
    if code != 0:
        return None
    listening = [
        s for s in listening_sockets(bytes(output).decode("utf-8", "replace")) if s.endswith(f":{contract.PORT}")
    ]
    if not listening:
        return None
    try:
        stream, _ = container.get_archive(contract.MODEL_DIR)
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
            if any(member.isfile() for member in archive.getmembers()):
                return None
    except docker.errors.APIError:
        return None
    return ", ".join(listening)


def _read_tree(container: Any, path: str, destination: Path) -> dict[str, int]:
    """Copy ``path`` out of a (possibly stopped) container into ``destination``; returns file sizes."""
    destination.mkdir(parents=True, exist_ok=True)
    try:
        stream, _ = container.get_archive(path)
    except docker.errors.NotFound:
        return {}
    files: dict[str, int] = {}
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
        for member in archive.getmembers():
            relative = member.name.partition("/")[2]
            if not member.isfile() or not relative or ".." in Path(relative).parts:
                continue
            extracted = archive.extractfile(member)
            if extracted is None:
                continue
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(extracted.read())
            files[relative] = member.size
    return files


class TrainingRun(DockerContainer):
    """``docker run IMAGE train`` with a fresh ``/opt/ml`` on a network of its own, artifacts copied out.

    As on SageMaker, the hostname is not ``current_host`` (unless ``hostname`` says so): Docker gives a random
    one. Every host of resourceconfig.json resolves to the container through the network's DNS (network
    aliases), also on an ``internal`` network, which is network isolation: no egress.
    """

    def __init__(
        self,
        image: str,
        *,
        stage: Path,
        labels: Mapping[str, str],
        network: str,
        internal: bool = False,
        hosts: tuple[str, ...] = contract.HOSTS,
        hostname: str | None = None,
        span: Span | None = None,
    ) -> None:
        super().__init__(image, command=contract.TRAIN_ARG)
        self.stage = stage
        self.span = span or Span(TRAINING, stage.name)
        self.network_name = network
        self.internal = internal
        self.hosts = hosts
        self.hostname = hostname
        self._labels = dict(labels)
        self.with_env(contract.TRAINING_JOB_NAME_ENV, contract.TRAINING_JOB_NAME)
        self.with_env(contract.TRAINING_JOB_ARN_ENV, contract.TRAINING_JOB_ARN)
        self.with_copy_into_container(stage / "input", contract.OPT_ML)
        if (stage / "checkpoints").is_dir():  # an earlier run's checkpoints, as SageMaker copies them in from S3
            self.with_copy_into_container(stage / "checkpoints", contract.OPT_ML)

    def _configure(self) -> None:
        client = self.get_docker_client().client
        kwargs: dict[str, Any] = {
            "labels": self._labels,
            "mounts": volume_mounts(client, self._labels, contract.REPLACED_AT_RUN_TIME),
            **network_kwargs(client, self.network_name, self.hosts),
        }
        if self.hostname:
            kwargs["hostname"] = self.hostname
        self.with_kwargs(**kwargs)

    def reproduce(self, sigterm_after: float | None = None) -> tuple[str, ...]:
        env = " ".join(f"-e {shlex.quote(f'{k}={v}')}" for k, v in self.env.items())
        aliases = "".join(f" --network-alias {host}" for host in self.hosts)
        name = REPRODUCE_NETWORK + ("-internal" if self.internal else "")
        hostname = f" --hostname {self.hostname}" if self.hostname else ""
        run = (
            f"--network {name}{aliases}{hostname} {env} "
            f"-v {shlex.quote(str(self.stage / 'input'))}:{contract.INPUT_DIR} "
            + (
                f"-v {shlex.quote(str(self.stage / 'checkpoints'))}:{contract.CHECKPOINTS_DIR} "
                if (self.stage / "checkpoints").is_dir()
                else ""
            )
            + f'-v "$out/model:{contract.MODEL_DIR}" -v "$out/output:{contract.OUTPUT_DIR}" '
            f"{self.image} {contract.TRAIN_ARG}"
        )
        made = 'out=$(mktemp -d) && mkdir "$out/model" "$out/output"'
        network = reproduce_network(name, self.internal)
        if sigterm_after is None:
            return (
                made,
                network,
                f'docker run --rm {run}; echo "exit code $?"',
                'ls -lR "$out/model"; cat "$out/output/failure"',
            )
        # The same run, stopped as StopTrainingJob stops it; PID 1's signal masks say whether SIGTERM can land.
        return (
            made,
            network,
            f"id=$(docker run -d {run}) && sleep {sigterm_after:g}",
            'docker exec "$id" grep -E "^Sig(Blk|Ign|Cgt)" /proc/1/status   # bit 0x4000 = SIGTERM',
            f'time docker stop -t {contract.TRAIN_STOP_GRACE_S} "$id"',
            'docker inspect -f "exit code {{.State.ExitCode}}" "$id"',
            'docker rm "$id"',
        )

    def run_to_completion(
        self, timeout: float, *, sigterm_after: float | None = None, stop_at_checkpoint: bool = False
    ) -> TrainResult:
        """Start, wait for the exit (or send SIGTERM after ``sigterm_after`` s, or once a file appears in
        /opt/ml/checkpoints), copy artifacts out."""
        started = time.monotonic()
        self.span.mark("started")
        try:
            self.start()
        except docker.errors.APIError as error:
            # What `docker run` reports as exit code 127/126: the engine could not exec the command.
            self.span.mark("stopped")
            message = str(error.explanation or error)
            return TrainResult(
                self.stage.name,
                None,
                False,
                time.monotonic() - started,
                message,
                {},
                None,
                self.stage / "result" / "model",
                self.reproduce(sigterm_after),
                start_error=message,
            )
        self.span.mark("ready")  # the run has begun
        container = self.get_wrapped_container()
        exit_code: int | None = None
        timed_out = False
        serving: str | None = None
        stop = None
        if sigterm_after is not None:
            stop = self._stop_after(container, sigterm_after, contract.TRAIN_STOP_GRACE_S)
            exit_code = stop.exit_code
        elif stop_at_checkpoint:
            exit_code, timed_out, stop = _stop_at_checkpoint(container, started + timeout)
        else:
            exit_code, timed_out, serving = self._await_exit(container, started, timeout)
        self.span.mark("stopped")
        seconds = time.monotonic() - started
        result_dir = self.stage / "result"
        model_files = _read_tree(container, contract.MODEL_DIR, result_dir / "model")
        output_files = _read_tree(container, contract.OUTPUT_DIR, result_dir / "output")
        checkpoint_files = _read_tree(container, contract.CHECKPOINTS_DIR, result_dir / "checkpoints")
        failure = None
        if "failure" in output_files:
            failure = (result_dir / "output" / "failure").read_text(errors="replace")
        return TrainResult(
            spec=self.stage.name,
            exit_code=exit_code,
            timed_out=timed_out,
            seconds=seconds,
            logs=container.logs().decode("utf-8", "replace"),
            model_files=model_files,
            failure=failure,
            model_dir=result_dir / "model",
            reproduce=self.reproduce(sigterm_after),
            stop=stop,
            checkpoint_files=checkpoint_files,
            serving=serving,
        )

    @staticmethod
    def _await_exit(container: Any, started: float, timeout: float) -> tuple[int | None, bool, str | None]:
        """Wait for the run to end: its exit code, or a kill at ``timeout`` (timed out), or once it shows it is a
        server (:data:`SERVER_AFTER_S`)."""
        while True:
            elapsed = time.monotonic() - started
            if elapsed >= timeout:
                container.kill()
                return None, True, None
            pause = SERVER_AFTER_S - elapsed if elapsed < SERVER_AFTER_S else SERVER_LOOK_S
            try:
                return int(container.wait(timeout=max(min(pause, timeout - elapsed), 0.01))["StatusCode"]), False, None
            except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
                pass
            if time.monotonic() - started >= SERVER_AFTER_S:
                serving = serving_instead(container)
                if serving is not None:
                    container.kill()
                    return None, False, serving

    @staticmethod
    def _stop_after(container: Any, settle: float, grace: int) -> StopResult:
        pid1 = await_sigterm_handler(container, HANDLER_WAIT_S, settle=settle)
        return stop_container(container, grace, pid1=pid1)


def _holds_files(container: Any, path: str) -> bool:
    """Some file exists under ``path`` in the container (read through the engine: no tool needed inside)."""
    try:
        stream, _ = container.get_archive(path)
    except docker.errors.APIError:
        return False
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
        return any(member.isfile() for member in archive.getmembers())


def _stop_at_checkpoint(container: Any, deadline: float) -> tuple[int | None, bool, StopResult | None]:
    """Wait until a file appears in /opt/ml/checkpoints, then stop the run as StopTrainingJob does; returns the
    exit code, whether the deadline passed (the run is then killed), and the stop (None when the run ended first)."""
    while time.monotonic() < deadline:
        try:
            return int(container.wait(timeout=1)["StatusCode"]), False, None
        except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
            pass
        if _holds_files(container, contract.CHECKPOINTS_DIR):
            stop = stop_container(container, contract.TRAIN_STOP_GRACE_S)
            return stop.exit_code, False, stop
    container.kill()
    return None, True, None
