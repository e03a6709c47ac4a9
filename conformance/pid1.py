"""PID 1 and SIGTERM: how the process that ``docker stop`` signals stands towards it, and how a timed stop went.

TRN-7 and SRV-11 judge whether a container ends on SIGTERM before the engine's SIGKILL. What PID 1 does with the
signal is read from its ``/proc/1`` files inside the container (the signal masks, the command, where it sleeps,
with the syscall numbers of each machine), so a failure can say why: no handler, a wrapper waiting on its child.
This module reads those files' text; a target reads the files and stops the container
(:mod:`conformance.targets.docker.pid1` on Docker).
"""

from __future__ import annotations

import re
import signal
from dataclasses import dataclass
from typing import Final

from conformance.fairness import Load, fair, fair_kill


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
    load: Load | None = None
    """The stop's control (conformance.fairness): how long the image's tasks (per program, the one that waited
    longest) and the harness's timing thread waited for a CPU from the SIGTERM to shortly before the SIGKILL, read
    inside the container by the target when it was still running then, and what the host was doing as the stop
    ended; None when not recorded."""

    def judged_seconds(self) -> float:
        """The duration a stop is judged by: its time, or none when the image alone decided it (it had exited, or
        PID 1 never took SIGTERM, so no host could have stopped it sooner)."""
        if self.already_exited or (self.pid1 is not None and self.pid1.receives is False):
            return 0.0
        return float(self.grace) if self.killed else self.seconds

    def fair(self, limit: float, load: Load) -> bool:
        """Whether this stop, under ``load``, may be judged against ``limit`` (conformance.fairness): a SIGKILL at
        the end of the grace on the image's own time (:func:`~conformance.fairness.fair_kill`), any other stop on
        :meth:`judged_seconds`."""
        if self.killed and self.judged_seconds():
            return fair_kill(self.grace, limit, load)
        return fair(self.judged_seconds(), limit, load)

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
    def blocks_for_now(self) -> bool:
        """SIGTERM blocked while PID 1 runs: a moment's mask, as CPython's subprocess sets around fork and exec, not
        an init that takes its signals from a queue (those sleep in sigtimedwait, or in a poll on a signalfd)."""
        return self.blocked and self.waiting == "running"

    @property
    def receives(self) -> bool | None:
        """SIGTERM sent from outside reaches PID 1; None when that cannot be told from what was read."""
        if self.caught or self.in_sigwait or (self.blocked and not self.blocks_for_now):
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
        elif self.in_sigwait or (self.blocked and not self.blocks_for_now):
            stance = "waits for"
        else:
            stance = "ignores" if self.ignored else "has no handler for"
        where = f", asleep in {self.waiting}" if self.waiting and not self.caught else ""
        if self.blocks_for_now:
            where = ", blocking it for the moment while it runs (as around a fork)"
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


HANDLER_WAIT_S: Final = 5.0
"""How long into a run TRN-7 waits for PID 1 to take SIGTERM before sending it: a program may install its
handler after slow imports, and SageMaker's StopTrainingJob comes minutes into a job, not in its first second."""
