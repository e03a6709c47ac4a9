"""``docker run IMAGE serve`` as SageMaker runs it: a thin testcontainers class, with ``/opt/ml/model`` read-only.

The model comes in a volume filled through the engine's archive API, never bind-mounted from the host, so the
harness works against a remote engine too.
"""

from __future__ import annotations

import contextlib
import io
import shlex
import tarfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import docker.errors
import requests
from docker.types import Mount
from testcontainers.core.container import DockerContainer
from testcontainers.core.waiting_utils import WaitStrategy, WaitStrategyTarget

from conformance import contract, wire
from conformance.fairness import SCHEDSTAT_SCRIPT, task_waits
from conformance.http import Exchange, send
from conformance.limits import INVOCATION_TIMEOUT_S
from conformance.pid1 import HANDLER_WAIT_S, StopResult
from conformance.procs import PROC_TABLE_SCRIPT, Process, listening_sockets, parse_proc_dump
from conformance.targets.docker.netprobe import SERVER_ALIAS, NetworkProbe
from conformance.targets.docker.networks import REPRODUCE_NETWORK, REPRODUCE_SHARED, network_kwargs, reproduce_network
from conformance.targets.docker.pid1 import await_sigterm_handler, stop_container
from conformance.targets.results import Readiness
from conformance.timeline import SERVING, Span
from conformance.websocket import Session, WebSocket, WebSocketError
from conformance.wire import Request, Streamed, Turn


class NotReady(TimeoutError):
    pass


class PingReady(WaitStrategy):
    """Wait for ``GET /ping`` to answer 200; fail fast, and differently, when the container exits."""

    def __init__(self, budget: float, readiness: Readiness, ping: Callable[[], Exchange]) -> None:
        super().__init__()
        # Fields of our own, not testcontainers' private ones: the wait below is ours entirely.
        self.budget = float(int(budget) or 1)
        self.poll_interval = 0.1
        # Asking the engine for the container's state costs more CPU than a ping: a crash is noticed within
        # half a second, a 200 within a tenth.
        self.status_interval = 0.5
        self.readiness = readiness
        self.ping = ping
        self.since: float | None = None
        """When the container was started, if before the wait: the budget counts from then."""

    def wait_until_ready(self, container: WaitStrategyTarget) -> None:
        started = self.since or time.monotonic()
        checked = -self.status_interval
        while time.monotonic() - started < self.budget:
            if time.monotonic() - checked >= self.status_interval:
                checked = time.monotonic()
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
        user: str | None = None,
        read_only: bool = False,
        tmpfs: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(image, command=contract.SERVE_ARG)
        self.user = user
        self.read_only = read_only
        self.tmpfs_mounts = dict(tmpfs or {})
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
        self._base_url: str | None = None
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
        if self.user is not None:
            kwargs["user"] = self.user
        if self.read_only:
            kwargs["read_only"] = True
        if self.tmpfs_mounts:
            # Newer testcontainers pass their own ``tmpfs`` (path: options) to create: merge into it, never twice.
            own = getattr(self, "tmpfs", None)
            if isinstance(own, dict):
                own.update(self.tmpfs_mounts)
            else:
                kwargs["tmpfs"] = dict(self.tmpfs_mounts)
        self.with_kwargs(**kwargs)

    def start(self, *, wait: bool = True) -> ServingContainer:
        """``docker run``, then wait for /ping; with ``wait=False`` the wait runs in a thread of its own
        (:meth:`watch`), and :meth:`await_ready` collects it."""
        self._launched = time.monotonic()
        self._base_url = None
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
        # Each lookup is an engine round trip (inspect); a published port does not change while the container
        # runs, so it is asked once it is known, not on every request.
        if self._base_url is None:
            self._base_url = self._look_up_base_url()
        return self._base_url

    def _look_up_base_url(self) -> str:
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
        """One request; an invocation waits at most SageMaker's limit (the check's view of the server counts it
        against the limits, conformance.limits)."""
        timeout = timeout or INVOCATION_TIMEOUT_S
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

    def keep_alive(self, requests: Sequence[Request], *, timeout: float | None = None) -> list[Turn] | None:
        if self.probe is not None:
            return None
        return wire.keep_alive(
            self.base_url(), requests, timeout=timeout or INVOCATION_TIMEOUT_S, linger=contract.KEEP_ALIVE_LINGER_S
        )

    def stream(
        self,
        request: Request,
        *,
        timeout: float | None = None,
        payload_file: Path | None = None,
        beyond_limit: bool = False,
    ) -> Streamed | None:
        if self.probe is not None:
            return None
        return wire.stream(self.base_url(), request, timeout=timeout or INVOCATION_TIMEOUT_S, payload_file=payload_file)

    def websocket(self, path: str, *, timeout: float) -> Session:
        """A WebSocket from the host through the published port; a server on an internal network (reached only
        through the probe container) has none."""
        if self.probe is not None:
            raise WebSocketError("this server is on an internal network: only HTTP through the probe reaches it")
        return WebSocket.connect("ws" + self.base_url().removeprefix("http") + path, timeout=timeout)

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

    def _execute(self, command: list[str]) -> tuple[int, str]:
        with contextlib.suppress(docker.errors.APIError):
            code, output = self.get_wrapped_container().exec_run(command)
            return int(code), bytes(output).decode("utf-8", "replace")
        return -1, ""

    def inside_processes(self) -> list[Process] | None:
        code, output = self._execute(["sh", "-c", PROC_TABLE_SCRIPT])
        return (parse_proc_dump(output) if code == 0 else []) or None

    def signal(self, pids: Sequence[int], name: str) -> bool:
        return self._execute(["sh", "-c", f"kill -{name} {' '.join(str(p) for p in pids)}"])[0] == 0

    def signal_command(self, pids: Sequence[int], name: str) -> str:
        return f"docker exec CONTAINER kill -{name} {' '.join(str(p) for p in pids)}"

    def listening_sockets(self) -> list[str] | None:
        code, output = self._execute(["cat", "/proc/net/tcp", "/proc/net/tcp6"])
        return listening_sockets(output) if code == 0 else None

    def cpu_count(self) -> int | None:
        code, output = self._execute(["nproc"])
        return int(output.strip()) if code == 0 and output.strip().isdigit() else None

    def nginx_config(self, path: str) -> str | None:
        code, output = self._execute(["nginx", "-T", "-c", path])
        return output if code == 0 else None

    def memory_events(self) -> str | None:
        for path in contract.CGROUP_MEMORY_EVENTS:
            code, output = self._execute(["cat", path])
            if code == 0:
                return output
        return None

    def cpu_waits(self) -> dict[str, float] | None:
        code, output = self._execute(["sh", "-c", SCHEDSTAT_SCRIPT])
        return task_waits(output) if code == 0 else None

    def stop_gracefully(self, grace: int = contract.SERVE_STOP_GRACE_S) -> StopResult:
        # As for TRN-7: PID 1 gets up to HANDLER_WAIT_S to take SIGTERM. /ping can answer before a wrapper installs
        # its handler (AWS's inference toolkit does it once it has found MMS's Java process), while SageMaker stops
        # an endpoint long after it became healthy; a PID 1 that never takes SIGTERM is still signalled, and fails.
        container = self.get_wrapped_container()
        pid1 = await_sigterm_handler(container, HANDLER_WAIT_S)
        result = stop_container(container, grace, pid1=pid1)
        self.span.mark("stopped")
        return result

    def stop_command(self, grace: int) -> str:
        return f"time docker stop -t {grace} CONTAINER"

    def reproduce(self) -> tuple[str, ...]:
        env = "".join(f" -e {shlex.quote(f'{k}={v}')}" for k, v in self.env.items())
        model = f" -v {shlex.quote(str(self.model_stage))}:{contract.MODEL_DIR}:ro" if self.model_stage else ""
        if self.models is not None:
            model += f" -v {shlex.quote(str(self.models))}:{contract.MODELS_DIR}"
        if self.memory_mb is not None:
            model += f" --memory {self.memory_mb}m --memory-swap {self.memory_mb}m"
        if self.cpus is not None:
            model += f" --cpus {self.cpus:g}"
        if self.user is not None:
            model += f" --user {self.user}"
        if self.read_only:
            model += " --read-only"
        model += "".join(f" --tmpfs {shlex.quote(f'{path}:{options}')}" for path, options in self.tmpfs_mounts.items())
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
