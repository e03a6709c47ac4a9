"""PID 1 on a Docker engine: its ``/proc/1`` files read with ``docker exec``, the wait for its SIGTERM handler, and
``docker stop`` timed (what the files mean is :mod:`conformance.pid1`'s)."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

import docker.errors
import requests

from conformance.fairness import HOST, SCHEDSTAT_SCRIPT, measured_wait, task_waits
from conformance.pid1 import PROC1_FILES, SignalDisposition, StopResult, head_sections, waiting_in

LATE_LOOK_S = 1.0
"""How long before the SIGKILL a stop reads its container's CPU waits again, when it is still running: late enough
to cover nearly all of the grace, early enough for the ``docker exec`` to end before the kill."""


def cpu_waits(container: Any) -> dict[str, float] | None:
    """Each task's seconds waiting for a CPU in the container (:data:`SCHEDSTAT_SCRIPT`, one ``docker exec``); None
    when they cannot be read (no ``sh``, or the container is gone)."""
    with contextlib.suppress(docker.errors.APIError):
        code, output = container.exec_run(["sh", "-c", SCHEDSTAT_SCRIPT])
        if code == 0:
            return task_waits(bytes(output).decode("utf-8", "replace"))
    return None


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


def engine_machine(client: Any) -> str:
    """The engine's architecture as the kernel names it (x86_64, aarch64): /proc/1/syscall's numbers are the
    engine kernel's, whatever the image's platform. Empty when the engine does not say."""
    try:
        return str(client.info().get("Architecture", ""))
    except (docker.errors.APIError, AttributeError):
        return ""


def pid1_disposition(container: Any, machine: str | None = None) -> SignalDisposition | None:
    """PID 1's SIGTERM disposition; None when its /proc/1/status could not be read. ``machine``: the engine's
    architecture when the caller already asked (one look at the engine per wait, not per reading)."""
    files = _read_proc1(container)
    if "status" not in files:
        return None
    if machine is None:
        machine = engine_machine(container.client)
    waiting = waiting_in(files.get("wchan"), files.get("syscall"), machine)
    command = " ".join(arg for arg in files.get("cmdline", "").split("\0") if arg)
    return SignalDisposition.parse(files["status"], command, waiting)


def await_sigterm_handler(
    container: Any, budget: float, *, settle: float = 0.0, interval: float = 0.25
) -> SignalDisposition | None:
    """Wait until SIGTERM should be sent, and return PID 1's disposition then (the last one read).

    That is once ``settle`` s have passed and PID 1 takes SIGTERM (or /proc cannot tell), or when ``budget`` s
    have passed, or when the run ends first. Looks start at once, so they add nothing to the settle time of a
    PID 1 that is ready. Returns None only when /proc could never be read.
    """
    started = time.monotonic()
    machine = engine_machine(container.client)
    last: SignalDisposition | None = None
    while True:
        now = pid1_disposition(container, machine)
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


def stop_container(
    container: Any, grace: int, *, pid1: SignalDisposition | None = None, late_look: float = LATE_LOOK_S
) -> StopResult:
    """``docker stop -t grace``, timed; reports whether SIGKILL was needed and how PID 1 stood towards SIGTERM
    (read now unless the caller already did).

    The stop's control (conformance.fairness) is read inside the container: its tasks' CPU waits as SIGTERM goes
    and again ``late_look`` s before the SIGKILL if it is still running then (nothing more for a container that
    stops in time), with this thread's own wait: a stop SIGKILLed after the grace is judged on the image's time."""
    container.reload()
    if container.status != "running":
        exit_code = container.attrs["State"].get("ExitCode")
        return StopResult(grace, 0.0, exit_code, False, already_exited=True, pid1=pid1)
    pid1 = pid1 or pid1_disposition(container)
    before = cpu_waits(container)
    late: list[dict[str, float] | None] = []
    stopped = threading.Event()

    def look() -> None:
        if not stopped.is_set():
            late.append(cpu_waits(container))

    timer = threading.Timer(max(grace - late_look, 0.0), look)
    timer.daemon = True
    own_before = HOST.thread_wait()
    started = time.monotonic()
    if before is not None:
        timer.start()
    try:
        container.stop(timeout=grace)
    finally:
        seconds = time.monotonic() - started
        stopped.set()
        timer.cancel()
        if timer.is_alive():
            timer.join()
    own_after = HOST.thread_wait()
    waited = measured_wait(before, late[0] if late else None, own_before, own_after)
    container.reload()
    exit_code = container.attrs["State"].get("ExitCode")
    killed = exit_code == 137 and seconds >= grace - 0.5
    return StopResult(grace, seconds, exit_code, killed, pid1=pid1, load=HOST.measure_load(waited))
