"""TRN-7's reading of PID 1, against real containers: what the kernel shows for a late handler, a shell and an
init that waits in sigtimedwait (the cases the unit tests feed from recorded /proc text)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from conformance.targets.docker.engine import LABEL
from conformance.targets.docker.pid1 import await_sigterm_handler, stop_container

docker = pytest.importorskip("docker")

pytestmark = pytest.mark.docker

BASE = "sagemaker-conformance/base:bookworm-py3.11"
"""The local Debian base: python3, sh and tini, so every PID 1 below is a real program."""


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    engine = docker.from_env(timeout=60)
    try:
        engine.images.get(BASE)
    except docker.errors.ImageNotFound:
        pytest.fail(f"{BASE} is missing: run scripts/build-base.sh")
    yield engine
    # Only this process's containers: under xdist another worker may still be using its own.
    for container in STARTED:
        with contextlib.suppress(docker.errors.APIError):
            container.remove(force=True)
    engine.close()


STARTED: list[Any] = []


def started(client: Any, command: list[str]) -> Any:
    container = client.containers.run(BASE, command, detach=True, labels={LABEL: "1", f"{LABEL}.role": "pid1-test"})
    STARTED.append(container)
    return container


def test_a_handler_installed_after_slow_imports_is_waited_for(client: Any) -> None:
    late = (
        "import signal, sys, time; time.sleep(2); "  # slow imports, then the handler
        "signal.signal(signal.SIGTERM, lambda *_: sys.exit(143)); time.sleep(60)"
    )
    container = started(client, ["python3", "-c", late])
    # A wide budget: this checks the waiting itself, not TRN-7's 5 s.
    pid1 = await_sigterm_handler(container, budget=30.0, settle=0.5)
    assert pid1 is not None
    assert pid1.receives is True, pid1.describe()
    stop = stop_container(container, 120, pid1=pid1)
    assert not stop.killed
    assert stop.exit_code == 143
    assert stop.seconds < 5


def test_a_shell_that_ends_on_its_own_never_took_sigterm(client: Any) -> None:
    container = started(client, ["sh", "-c", "sleep 1.5; true"])
    pid1 = await_sigterm_handler(container, budget=5.0, settle=0.5)
    stop = stop_container(container, 120, pid1=pid1)
    assert stop.already_exited
    assert stop.pid1 is not None
    assert stop.pid1.receives is False
    assert "has no handler for SIGTERM" in stop.pid1.describe()


def test_tini_waiting_in_sigtimedwait_takes_sigterm(client: Any) -> None:
    container = started(client, ["tini", "--", "sleep", "60"])
    pid1 = await_sigterm_handler(container, budget=5.0, settle=0.5)
    assert pid1 is not None
    assert pid1.receives is True, pid1.describe()
    stop = stop_container(container, 120, pid1=pid1)
    assert not stop.killed
    assert stop.seconds < 5
