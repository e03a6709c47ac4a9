"""The two ways SageMaker runs an image, as thin testcontainers classes.

:class:`TrainingRun` is ``docker run IMAGE train`` against a fresh ``/opt/ml``;
:class:`ServingContainer` is ``docker run IMAGE serve`` with a model mounted read-only.
Files are copied in and out through the engine's archive API, never bind-mounted from the host,
so the harness works against a remote engine too. The directories SageMaker replaces at run time
are fresh volumes created with ``nocopy``, so nothing the image baked there shows through.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import signal
import tarfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import docker
import docker.errors
import requests
from docker.types import EndpointConfig, Mount
from testcontainers.core.container import DockerContainer
from testcontainers.core.waiting_utils import WaitStrategy, WaitStrategyTarget

from conformance import contract
from conformance.http import Exchange, send
from conformance.limits import INVOCATION_TIMEOUT_S, Limits
from conformance.netprobe import SERVER_ALIAS, NetworkProbe
from conformance.procs import Process, listening_sockets
from conformance.timeline import SERVING, TRAINING, Span


@dataclass(frozen=True)
class StopResult:
    """How a container took SIGTERM: ``docker stop -t GRACE``, timed."""

    grace: int
    seconds: float
    exit_code: int | None
    killed: bool
    """Still running at the end of the grace period, so the engine sent SIGKILL."""
    already_exited: bool = False
    pid1: SignalDisposition | None = None
    """How PID 1 stood towards SIGTERM just before it was sent; None when /proc/1/status could not be read."""

    def pid1_evidence(self) -> tuple[tuple[str, str], ...]:
        return (("PID 1 when SIGTERM was sent", self.pid1.describe()),) if self.pid1 else ()


SYSCALL_NAMES: Final = {
    "x86_64": {128: "rt_sigtimedwait", 61: "wait4", 247: "waitid"},
    "aarch64": {137: "rt_sigtimedwait", 260: "wait4", 95: "waitid"},
}
"""The ``/proc/1/syscall`` numbers TRN-7 recognises, by machine: how tini and dumb-init take signals, and how a
wrapper waits for its child."""


@dataclass(frozen=True)
class SignalDisposition:
    """PID 1's stance towards SIGTERM, from its ``/proc/1/status`` (and what it is waiting in).

    The kernel delivers a signal to a PID namespace's init only when init has a handler for it, or has it
    blocked (pid_namespaces(7); blocked signals are queued); SIGKILL alone is forced. Inits such as tini and
    dumb-init block signals and take them with sigtimedwait, during which the kernel shows them unblocked, so
    a PID 1 asleep in sigtimedwait counts as receiving SIGTERM. Any other PID 1 is never told to stop, and
    ``docker stop`` ends in SIGKILL.
    """

    command: str
    caught: bool
    ignored: bool
    blocked: bool = False
    waiting: str | None = None
    """Where PID 1 sleeps (``/proc/1/wchan``, else the syscall); None when neither could be read."""

    @property
    def in_sigwait(self) -> bool:
        return self.waiting is not None and "sigtimedwait" in self.waiting

    @property
    def waits_for_child(self) -> bool:
        """Asleep waiting for a child to exit: a wrapper (``sh`` without ``exec``) that keeps the signal from it."""
        return self.waiting is not None and any(word in self.waiting for word in ("do_wait", "wait4", "waitid"))

    @property
    def receives(self) -> bool | None:
        """SIGTERM sent from outside reaches PID 1; None when that cannot be told from what was read."""
        if self.caught or self.blocked or self.in_sigwait:
            return True
        return False if self.waiting is not None or self.ignored else None

    @classmethod
    def parse(cls, status: str, command: str = "", waiting: str | None = None) -> SignalDisposition | None:
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        try:
            masks = {name: int(fields[name].strip(), 16) for name in ("SigCgt", "SigIgn", "SigBlk")}
        except (KeyError, ValueError):
            return None
        bit = 1 << (signal.SIGTERM - 1)
        return cls(
            command or fields.get("Name", "?").strip(),
            caught=bool(masks["SigCgt"] & bit),
            ignored=bool(masks["SigIgn"] & bit),
            blocked=bool(masks["SigBlk"] & bit),
            waiting=waiting,
        )

    def describe(self) -> str:
        if self.caught:
            stance = "catches"
        elif self.blocked or self.in_sigwait:
            stance = "waits for"
        else:
            stance = "ignores" if self.ignored else "has no handler for"
        where = f", asleep in {self.waiting}" if self.waiting and not self.caught else ""
        return f"PID 1 ({self.command}) {stance} SIGTERM{where}"


def waiting_in(wchan: str | None, syscall: str | None, machine: str) -> str | None:
    """Where PID 1 is: its wchan symbol, "running", rt_sigtimedwait known by its syscall number, or None
    when the kernel shows neither (restricted /proc)."""
    if wchan and wchan.strip() not in ("", "0"):
        return wchan.strip()
    first = (syscall or "").split(" ", 1)[0].strip()
    if first == "running":
        return "running"
    if not first.isdigit():
        return None
    return SYSCALL_NAMES.get(machine, {}).get(int(first), f"syscall {first}")


PROC1_FILES: Final = ("status", "cmdline", "wchan", "syscall")
"""What TRN-7 reads of PID 1: the signal masks, the command, and where it sleeps."""

_HEAD_SECTION: Final = re.compile(r"\n?==> /proc/1/(\w+) <==\n")


def head_sections(output: str) -> dict[str, str]:
    """The files in ``head FILE...`` output, by name (``head`` puts ``==> FILE <==`` before each one)."""
    parts = _HEAD_SECTION.split(output)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def _read_proc1(container: Any) -> dict[str, str]:
    """PID 1's /proc files, read inside the container in one exec (so a remote engine works too).

    One exec, not one per file: each is an engine round trip, and under load four of them outlasted a short
    training run. Files the kernel will not show are left out.
    """
    paths = [f"/proc/1/{name}" for name in PROC1_FILES]
    try:
        code, (stdout, _) = container.exec_run(["head", "-n", "1000", *paths], demux=True)
    except docker.errors.APIError:
        return {}
    if code not in (126, 127):
        return {name: text for name, text in head_sections((stdout or b"").decode("utf-8", "replace")).items() if text}
    # No head in the image (126/127: not found or not executable): cat each file.
    files = {}
    for name, path in zip(PROC1_FILES, paths, strict=True):
        with contextlib.suppress(docker.errors.APIError):
            code, output = container.exec_run(["cat", path], demux=False)
            if code == 0 and output:
                files[name] = output.decode("utf-8", "replace")
    return files


_MACHINES: dict[str, str] = {}


def _engine_machine(client: Any) -> str:
    """The engine's architecture as the kernel names it (x86_64, aarch64), asked once per engine."""
    key = str(getattr(getattr(client, "api", None), "base_url", id(client)))
    if key not in _MACHINES:
        try:
            _MACHINES[key] = str(client.info().get("Architecture", ""))
        except (docker.errors.APIError, AttributeError):
            return ""
    return _MACHINES[key]


def pid1_disposition(container: Any) -> SignalDisposition | None:
    """PID 1's SIGTERM disposition; None when its /proc/1/status could not be read."""
    files = _read_proc1(container)
    if "status" not in files:
        return None
    waiting = waiting_in(files.get("wchan"), files.get("syscall"), _engine_machine(container.client))
    command = " ".join(arg for arg in files.get("cmdline", "").split("\0") if arg)
    return SignalDisposition.parse(files["status"], command, waiting)


@dataclass(frozen=True)
class TrainResult:
    spec: str
    exit_code: int | None
    timed_out: bool
    seconds: float
    logs: str
    model_files: Mapping[str, int]
    """Relative path -> size of each file left in ``/opt/ml/model``."""
    failure: str | None
    """The text of ``/opt/ml/output/failure``, or None when it was not written."""
    model_dir: Path
    """The model copied out to the host, for the serve round trip."""
    reproduce: tuple[str, ...]
    stop: StopResult | None = None
    start_error: str | None = None
    """The engine refused to start the container (e.g. `exec: "train": executable file not found`)."""
    checkpoint_files: Mapping[str, int] = field(default_factory=dict)
    """Relative path -> size of each file left in ``/opt/ml/checkpoints`` (copied out next to the model)."""
    serving: str | None = None
    """The run was stopped as a server, not a training run (see :data:`SERVER_AFTER_S`): what it listened on."""

    @property
    def hung(self) -> bool:
        """The run did not end on its own: it hit --train-timeout, or it was stopped as a server."""
        return self.timed_out or self.serving is not None

    def describe(self) -> str:
        if self.start_error:
            return f"could not start: {self.start_error}"
        if self.serving is not None:
            return (
                f"was serving, not training: {SERVER_AFTER_S:g} s after it began it listened on {self.serving} and "
                f"had written nothing to {contract.MODEL_DIR}, so it was stopped"
            )
        if self.timed_out:
            return f"was still running after {self.seconds:.0f} s and was stopped (the harness's budget for the run)"
        return f"exited with code {self.exit_code} after {self.seconds:.1f} s"


SERVER_AFTER_S: Final = 30.0
"""A training run that, this long after it began (or at any look after), listens on port 8080 (where
``docker run IMAGE serve`` answers) and has written nothing to /opt/ml/model is a server, not a training run: a
``serve`` reached by an entrypoint that drops ``train``, or a training script that starts one and never exits. It is
stopped then instead of at --train-timeout. A training program has no use for the serving port, and one that trains
for longer before writing its model is still running when looked at, not listening there."""
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


def _volume_mounts(client: docker.DockerClient, labels: Mapping[str, str], paths: tuple[str, ...]) -> list[Mount]:
    """Fresh, empty volumes over ``paths``; ``no_copy`` keeps the image's own files there out of them."""
    mounts = []
    for path in paths:
        volume = client.volumes.create(labels=dict(labels))
        mounts.append(Mount(path, volume.name, type="volume", no_copy=True))
    return mounts


REPRODUCE_NETWORK: Final = "smc-net"
"""The network's name in the commands to reproduce a run (the harness's own networks are gone by then)."""


REPRODUCE_SHARED: Final = "smc-first"
"""The name of the container whose network namespace a neighbour joins, in the commands to reproduce (ENV-6)."""


def reproduce_network(name: str, internal: bool) -> str:
    """Create the network unless an earlier command did: runs of one clause share it."""
    create = "docker network create" + (" --internal" if internal else "") + f" {name}"
    return f"docker network inspect {name} >/dev/null 2>&1 || {create}"


def network_kwargs(client: docker.DockerClient, network: str, aliases: tuple[str, ...]) -> dict[str, Any]:
    """``docker run --network NETWORK --network-alias ALIAS...`` as ``containers.create`` arguments."""
    endpoint = EndpointConfig(client.api.api_version, aliases=list(aliases))
    return {"network": network, "networking_config": {network: endpoint}}


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
            "mounts": _volume_mounts(client, self._labels, contract.REPLACED_AT_RUN_TIME),
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


HANDLER_WAIT_S: Final = 5.0
"""How long into a run TRN-7 waits for PID 1 to take SIGTERM before sending it: a program may install its
handler after slow imports, and SageMaker's StopTrainingJob comes minutes into a job, not in its first second."""


def await_sigterm_handler(
    container: Any, budget: float, *, settle: float = 0.0, interval: float = 0.25
) -> SignalDisposition | None:
    """Wait until SIGTERM should be sent, and return PID 1's disposition then (the last one read).

    That is once ``settle`` s have passed and PID 1 takes SIGTERM (or /proc cannot tell), or when ``budget`` s
    have passed, or when the run ends first. Looks start at once, so they add nothing to the settle time of a
    PID 1 that is ready. Returns None only when /proc could never be read.
    """
    started = time.monotonic()
    last: SignalDisposition | None = None
    while True:
        now = pid1_disposition(container)
        # Keep the telling reading: a wrapper seen waiting on its child stays the finding even if a later look
        # catches it between two waits (reaping, exiting).
        if now is not None and not (
            last is not None and last.waits_for_child and now.receives is not True and not now.waits_for_child
        ):
            last = now
        elapsed = time.monotonic() - started
        ready = last is None or last.receives is not False
        if elapsed >= budget or (ready and elapsed >= settle):
            return last
        pause = min(settle - elapsed, budget - elapsed) if ready else min(interval, budget - elapsed)
        try:
            container.wait(timeout=max(pause, 0.01))
            return last  # the run ended first
        except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
            pass


def stop_container(container: Any, grace: int, *, pid1: SignalDisposition | None = None) -> StopResult:
    """``docker stop -t grace``, timed; reports whether SIGKILL was needed and how PID 1 stood towards SIGTERM
    (read now unless the caller already did)."""
    container.reload()
    if container.status != "running":
        exit_code = container.attrs["State"].get("ExitCode")
        return StopResult(grace, 0.0, exit_code, False, already_exited=True, pid1=pid1)
    pid1 = pid1 or pid1_disposition(container)
    started = time.monotonic()
    container.stop(timeout=grace)
    seconds = time.monotonic() - started
    container.reload()
    exit_code = container.attrs["State"].get("ExitCode")
    killed = exit_code == 137 and seconds >= grace - 0.5
    return StopResult(grace, seconds, exit_code, killed, pid1=pid1)


@dataclass
class Readiness:
    """What the start-up wait saw: the first 200 on ``/ping``, or why there was none."""

    ready: bool = False
    seconds: float | None = None
    """From ``docker run`` to the first 200."""
    last: Exchange | None = None
    answered: bool = False
    """Any HTTP response at all came back (some server listens on the port)."""
    exited: bool = False
    exit_code: int | None = None
    budget: float = contract.STARTUP_BUDGET_S
    start_error: str | None = None

    def describe(self) -> str:
        if self.start_error:
            return f"the container could not start: {self.start_error}"
        if self.ready:
            return f"/ping answered 200 after {self.seconds:.2f} s"
        if self.exited:
            return f"the container exited with code {self.exit_code} before /ping answered 200"
        last = self.last.describe() if self.last else "no request completed"
        return f"/ping did not answer 200 within {self.budget:g} s (last answer: {last})"


class NotReady(TimeoutError):
    pass


class PingReady(WaitStrategy):
    """Wait for ``GET /ping`` to answer 200; fail fast, and differently, when the container exits."""

    def __init__(self, budget: float, readiness: Readiness, ping: Callable[[], Exchange]) -> None:
        super().__init__()
        # Fields of our own, not testcontainers' private ones: the wait below is ours entirely.
        self.budget = float(int(budget) or 1)
        self.poll_interval = 0.1
        self.readiness = readiness
        self.ping = ping
        self.since: float | None = None
        """When the container was started, if before the wait: the budget counts from then."""

    def wait_until_ready(self, container: WaitStrategyTarget) -> None:
        started = self.since or time.monotonic()
        while time.monotonic() - started < self.budget:
            container.reload()
            if container.status in ("exited", "dead"):
                self.readiness.exited = True
                self.readiness.exit_code = container.get_wrapped_container().attrs["State"].get("ExitCode")
                raise NotReady(self.readiness.describe())
            try:
                exchange = self.ping()
            except Exception:  # the engine has not published the port yet
                time.sleep(self.poll_interval)
                continue
            self.readiness.last = exchange
            self.readiness.answered |= exchange.status is not None
            if exchange.status == 200:
                self.readiness.ready = True
                return
            time.sleep(self.poll_interval)
        raise NotReady(self.readiness.describe())


class ServingContainer(DockerContainer):
    """``docker run IMAGE serve`` with ``/opt/ml/model`` read-only, on a random host port.

    On a ``network`` (an internal one, SRV-14) nothing is published: the server is ``model-server`` on that
    network, and every request goes through the ``probe`` container there.
    """

    def __init__(
        self,
        image: str,
        *,
        labels: Mapping[str, str],
        model_volume: str | None,
        model_stage: Path | None,
        env: Mapping[str, str],
        budget: float,
        port: int = contract.PORT,
        network: str | None = None,
        span: Span | None = None,
        probe: NetworkProbe | None = None,
        publish: tuple[int, ...] = (),
        via: ServingContainer | None = None,
        models: Path | None = None,
        memory_mb: int | None = None,
        cpus: float | None = None,
        limits: Limits | None = None,
    ) -> None:
        super().__init__(image, command=contract.SERVE_ARG)
        self.limits = limits
        self._labels = dict(labels)
        self.publish = publish
        self.via = via
        """The container whose network namespace this one joins, and through whose published ports it is reached."""
        self.models = models
        self.memory_mb = memory_mb
        self.cpus = cpus
        if models is not None:
            # Copied, not bind-mounted, as the model volume is: a multi-model endpoint's models folder (ENV-7).
            self.with_copy_into_container(models, contract.OPT_ML)
        self.span = span or Span(SERVING, contract.SERVE_ARG)
        self.port = port
        self.network_name = network
        self.probe = probe
        self.model_volume = model_volume
        self.model_stage = model_stage
        self.readiness = Readiness(budget=budget)
        self._launched = time.monotonic()
        self._watcher: threading.Thread | None = None
        self._session = requests.Session()
        for key, value in env.items():
            self.with_env(key, value)
        if network is None and via is None:
            self.with_exposed_ports(port, *publish)
        # A session of its own, and a generous per-request timeout: SRV-2 judges the 2 s ping limit, the wait
        # only needs a 200.
        waiting = requests.Session()
        self.waiting_for(
            PingReady(
                budget, self.readiness, lambda: self.request("GET", contract.PING_PATH, timeout=10, session=waiting)
            )
        )

    def _configure(self) -> None:
        client = self.get_docker_client().client
        # No model means an empty directory, as a model.tar.gz with nothing in it would give.
        volume = self.model_volume or client.volumes.create(labels=self._labels).name
        mounts = [Mount(contract.MODEL_DIR, volume, type="volume", read_only=True, no_copy=True)]
        kwargs: dict[str, Any] = {"labels": self._labels, "mounts": mounts}
        if self.network_name:
            kwargs.update(network_kwargs(client, self.network_name, (SERVER_ALIAS,)))
        if self.via is not None:
            kwargs["network_mode"] = f"container:{self.via.get_wrapped_container().id}"
        if self.memory_mb is not None:
            kwargs["mem_limit"] = kwargs["memswap_limit"] = f"{self.memory_mb}m"
        if self.cpus is not None:
            kwargs["nano_cpus"] = int(self.cpus * 1e9)
        self.with_kwargs(**kwargs)

    def start(self, *, wait: bool = True) -> ServingContainer:
        """``docker run``, then wait for /ping; with ``wait=False`` the wait runs in a thread of its own
        (:meth:`watch`), and :meth:`await_ready` collects it."""
        self._launched = time.monotonic()
        self.span.mark("started")
        strategy = self._wait_strategy
        if not wait:
            self._wait_strategy = None
        try:
            super().start()
        except NotReady:
            pass
        except docker.errors.APIError as error:
            self.readiness.exited = True
            self.readiness.start_error = str(error.explanation or error)
        finally:
            self._wait_strategy = strategy
        if wait or self.readiness.start_error:
            self._settled()
        else:
            self._watcher = threading.Thread(target=self._watch, name=f"watch-{self.span.configuration}", daemon=True)
            self._watcher.start()
        return self

    def _watch(self) -> None:
        assert isinstance(self._wait_strategy, PingReady)
        self._wait_strategy.since = self._launched
        # NotReady is the verdict's evidence; anything else means the container went away (the run ended first).
        with contextlib.suppress(Exception):
            self._wait_strategy.wait_until_ready(self)
        self._settled()

    def await_ready(self) -> ServingContainer:
        """Collect the wait that :meth:`start` left to a thread (at once when there was none)."""
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.join()
        return self

    def _settled(self) -> None:
        if self.readiness.ready:
            self.readiness.seconds = time.monotonic() - self._launched
            self.span.mark("ready")
        if self.readiness.exited:
            self.span.mark("stopped")

    def stop(self, force: bool = True, delete_volume: bool = True) -> None:
        super().stop(force, delete_volume)
        self.span.mark("stopped")

    def base_url(self) -> str:
        if self.via is not None:
            return f"http://{self.via.get_container_host_ip()}:{self.via.get_exposed_port(self.port)}"
        if self.network_name:
            return f"http://{SERVER_ALIAS}:{self.port}"
        return f"http://{self.get_container_host_ip()}:{self.get_exposed_port(self.port)}"

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
        """One request; an invocation waits at most SageMaker's limit, and is not sent once one has broken it
        (conformance.limits)."""
        if self.limits is not None:
            self.limits.before(method, path)
        exchange = self._send(
            method,
            path,
            body=body,
            headers=headers,
            timeout=timeout or INVOCATION_TIMEOUT_S,
            session=session,
            payload_file=payload_file,
        )
        if self.limits is not None:
            self.limits.after(exchange)
        return exchange

    def _send(
        self,
        method: str,
        path: str,
        *,
        body: bytes,
        headers: Mapping[str, str] | None,
        timeout: float,
        session: requests.Session | None,
        payload_file: Path | None,
    ) -> Exchange:
        if self.probe is not None:
            return self.probe.send(
                method,
                SERVER_ALIAS,
                self.port,
                path,
                body=body,
                headers=headers,
                timeout=timeout,
                payload_file=payload_file,
            )
        url = self.base_url() + path
        return send(
            session or self._session,
            method,
            url,
            body=body,
            headers=headers,
            timeout=timeout,
            payload_file=payload_file,
        )

    def running(self) -> bool:
        container = self.get_wrapped_container()
        with contextlib.suppress(docker.errors.NotFound):
            container.reload()
            if container.status == "running":
                return True
        self.span.mark("stopped")
        return False

    def healthy(self) -> bool:
        """A quick /ping: a container an earlier check broke is replaced before the next check uses it."""
        return self.request("GET", contract.PING_PATH, timeout=5).status == 200

    def oom_killed(self) -> bool:
        """The engine saw the kernel kill the container for memory (``State.OOMKilled``)."""
        container = self.get_wrapped_container()
        with contextlib.suppress(docker.errors.APIError):
            container.reload()
        return bool(container.attrs["State"].get("OOMKilled"))

    def exit_code(self) -> int | None:
        state = self.get_wrapped_container().attrs["State"]
        return None if state.get("Running") else state.get("ExitCode")

    def logs(self) -> str:
        if self.readiness.start_error:
            return self.readiness.start_error
        with contextlib.suppress(docker.errors.APIError):
            return bytes(self.get_wrapped_container().logs()).decode("utf-8", "replace")
        return "(logs unavailable)"

    def processes(self) -> list[Process]:
        """The container's process table (``docker top``): needs no tool inside the image."""
        table = self.get_wrapped_container().top(ps_args="-eo pid,ppid,args")
        titles = [t.upper() for t in table.get("Titles", [])]
        rows = []
        for row in table.get("Processes") or []:
            item = dict(zip(titles, row, strict=False))
            rows.append(Process(pid=int(item["PID"]), ppid=int(item["PPID"]), args=item.get("COMMAND", "")))
        return rows

    def read_file(self, path: str) -> bytes | None:
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            stream, _ = self.get_wrapped_container().get_archive(path)
            with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
                member = archive.next()
                if member is not None and member.isfile():
                    extracted = archive.extractfile(member)
                    return extracted.read() if extracted else None
        return None

    def execute(self, command: list[str]) -> tuple[int, str]:
        with contextlib.suppress(docker.errors.APIError):
            code, output = self.get_wrapped_container().exec_run(command)
            return int(code), bytes(output).decode("utf-8", "replace")
        return -1, ""

    def stop_gracefully(self, grace: int = contract.SERVE_STOP_GRACE_S) -> StopResult:
        # As for TRN-7: PID 1 gets up to HANDLER_WAIT_S to take SIGTERM. /ping can answer before a wrapper installs
        # its handler (AWS's inference toolkit does it once it has found MMS's Java process), while SageMaker stops
        # an endpoint long after it became healthy; a PID 1 that never takes SIGTERM is still signalled, and fails.
        container = self.get_wrapped_container()
        pid1 = await_sigterm_handler(container, HANDLER_WAIT_S)
        result = stop_container(container, grace, pid1=pid1)
        self.span.mark("stopped")
        return result

    def reproduce(self) -> tuple[str, ...]:
        env = "".join(f" -e {shlex.quote(f'{k}={v}')}" for k, v in self.env.items())
        model = f" -v {shlex.quote(str(self.model_stage))}:{contract.MODEL_DIR}:ro" if self.model_stage else ""
        if self.models is not None:
            model += f" -v {shlex.quote(str(self.models))}:{contract.MODELS_DIR}"
        if self.memory_mb is not None:
            model += f" --memory {self.memory_mb}m --memory-swap {self.memory_mb}m"
        if self.cpus is not None:
            model += f" --cpus {self.cpus:g}"
        if self.via is not None:
            return (
                f"docker run --rm --network container:{REPRODUCE_SHARED}{model}{env} {self.image} {contract.SERVE_ARG}",
            )
        if self.publish:
            ports = "".join(f" -p {p}:{p}" for p in (self.port, *self.publish))
            return (
                f"docker run -d --rm --name {REPRODUCE_SHARED}{ports}{model}{env} {self.image} {contract.SERVE_ARG}",
            )
        if not self.network_name:
            return (f"docker run --rm -p {self.port}:{self.port}{model}{env} {self.image} {contract.SERVE_ARG}",)
        # No egress, so no published port: ask from a second container on the same internal network.
        net = REPRODUCE_NETWORK + "-internal"
        ping = f"import urllib.request as u; print(u.urlopen('http://{SERVER_ALIAS}:{self.port}{contract.PING_PATH}').status)"
        return (
            reproduce_network(net, True),
            f"docker run -d --rm --name {SERVER_ALIAS} --network {net} --network-alias {SERVER_ALIAS}{model}{env} "
            f"{self.image} {contract.SERVE_ARG}",
            f"docker run --rm --network {net} --entrypoint python3 {self.image} -c {shlex.quote(ping)}",
            f"docker rm -f {SERVER_ALIAS}",
        )


def tar_of(files: Mapping[str, bytes], dirs: tuple[str, ...] = ()) -> bytes:
    """A tar archive of in-memory files and empty directories (paths relative to where it is extracted)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name in dirs:
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            archive.addfile(info)
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def populate_volume(
    client: docker.DockerClient, image: str, volume: str, source: Path, labels: Mapping[str, str]
) -> None:
    """Fill ``volume`` with the files under ``source`` through a never-started container of ``image``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path in sorted(source.rglob("*")):
            archive.add(path, arcname=str(path.relative_to(source)), recursive=False)
    loader = client.containers.create(
        image,
        command=["true"],
        labels=dict(labels),
        mounts=[Mount(contract.MODEL_DIR, volume, type="volume", no_copy=True)],
    )
    try:
        loader.put_archive(contract.MODEL_DIR, buffer.getvalue())
    finally:
        loader.remove(force=True)
