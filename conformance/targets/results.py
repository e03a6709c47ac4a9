"""What a target reports back to the checks: the engine and the image, a path in the image, a training run's result,
a serving container's readiness.

Plain data, the same whichever engine ran the image (see :mod:`conformance.targets`); nothing here imports an engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from conformance import contract
from conformance.fairness import Load
from conformance.http import Exchange
from conformance.pid1 import StopResult


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
    load: Load | None = None
    """What the host was doing while a start-up ran out of its budget (conformance.fairness)."""
    again: str | None = None
    """Why this is the second start: the first ran out of its budget while its tasks waited for a CPU."""
    unjudged: str | None = None
    """Why the start-up could not be timed fairly, twice (then SRV-2 is not judged)."""

    @property
    def ran_out(self) -> bool:
        """No 200 within the budget from a container that started and kept running: a duration to judge."""
        return not (self.ready or self.exited or self.start_error)

    def describe(self) -> str:
        if self.unjudged:
            return self.unjudged
        if self.start_error:
            return f"the container could not start: {self.start_error}"
        if self.ready:
            return f"/ping answered 200 after {self.seconds:.2f} s"
        if self.exited:
            return f"the container exited with code {self.exit_code} before /ping answered 200"
        last = self.last.describe() if self.last else "no request completed"
        return f"/ping did not answer 200 within {self.budget:g} s (last answer: {last})"


@dataclass(frozen=True)
class EngineInfo:
    """The engine that runs the image, as the report's header names it."""

    name: str
    """The engine's product name (Docker)."""
    version: str
    api_version: str
    os: str
    architecture: str
    cpus: int
    host: str

    def describe(self) -> str:
        platform = f"{self.os}/{self.architecture}"
        return f"{self.name} {self.version} (API {self.api_version}, {platform}, {self.cpus} CPUs) at {self.host}"


@dataclass(frozen=True)
class ImageInfo:
    """What ``docker image inspect`` says of the candidate image."""

    reference: str
    id: str
    digests: tuple[str, ...]
    os: str
    architecture: str
    variant: str
    entrypoint: tuple[str, ...] | None
    cmd: tuple[str, ...] | None
    env: tuple[str, ...]
    labels: dict[str, str]
    user: str
    exposed_ports: tuple[str, ...]
    size: int

    @property
    def platform(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)

    @property
    def path(self) -> tuple[str, ...]:
        for item in self.env:
            if item.startswith("PATH="):
                return tuple(p for p in item[5:].split(":") if p)
        return ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")


@dataclass(frozen=True)
class PathStat:
    """A path in the image as exec finds it (IMG-1)."""

    path: str
    is_dir: bool = False
    is_symlink: bool = False
    executable: bool = False
    link_target: str = ""
    """Where a symlink points (relative to its folder unless absolute); empty for anything else."""
