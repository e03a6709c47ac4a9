"""PID 1 on a Docker engine: its ``/proc/1`` files read with ``docker exec``, the wait for its SIGTERM handler, and
``docker stop`` timed (what the files mean is :mod:`conformance.pid1`'s)."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import docker.errors
import requests

from conformance.fairness import HOST
from conformance.pid1 import PROC1_FILES, SignalDisposition, StopResult, head_sections, waiting_in


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
    return StopResult(grace, seconds, exit_code, killed, pid1=pid1, load=HOST.measure_load(None))
