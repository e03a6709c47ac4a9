"""Whether the host gave a timing measurement a fair chance, and the quiet it can be measured again in.

A duration over one of SageMaker's limits fails a clause only when the image, not the machine, made it long. Load
only lengthens a duration, so a duration within its limit passes whatever the host was doing; one at or over it is
judged with its control, taken at the same time: how long a request's path through the image (for each of its
programs, the task that waited longest: a proxy's and a worker's) and the harness's measuring thread sat runnable,
waiting for a CPU, during the measurement (each task's run-queue wait, ``/proc/<pid>/task/<tid>/schedstat``'s second
field, which cgroup v1 and v2 both keep). Less those seconds, a duration still at or over the limit is the image's
own (a ``sleep(3)`` in /ping waits for nothing), and fails; one that would be within it is not judged this time: the
check measures it again with the certification quiet (:meth:`Host.quiet`: other checks, in this process and in other
certifications on the host, hold their next request, and other certifications their next container start, until it
is done; it begins once the host has settled), and if the host is still too busy, reports the clause as not judged,
naming the load.

A stop is read from its SIGTERM to shortly before its SIGKILL (the container is gone after it): a stop SIGKILLed at
the end of its grace is judged by :func:`fair_kill`. When the waits cannot be read (no ``sh`` or ``/proc`` in the
container, or a stop that ended before its late look), the host's own figures stand in for them (:func:`quiet_host`):
a load average under the CPUs, and a CPU pressure under :data:`BUSY_PRESSURE_PERCENT` (the average follows a load a
minute late, the pressure within ten seconds).
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from conformance.clock import REAL, Clock

SCHEDSTAT_SCRIPT = (
    "for f in /proc/[0-9]*/task/[0-9]*/schedstat; do "
    'p=${f#/proc/}; [ "${p%%/*}" = "$$" ] && continue; '
    'read c < "/proc/${p%%/*}/comm" && read l < "$f" && echo "${f#/proc/} $l $c"; '
    "done 2>/dev/null; true"
)
"""Every task's scheduler statistics in the container, one line each: ``PID/task/TID/schedstat``, run time, run-queue
wait (both ns), time slices, and its program's name; not the reading shell's own (a program on no request's path,
which waits for a CPU itself on a busy host). Shell built-ins only: no process per task."""
QUIET_MAX_S = 120.0
"""The longest another check holds a request for a quiet measurement: a stop waits 30 s, a start-up longer."""
QUIET_DIR = Path(tempfile.gettempdir()) / "sagemaker-conformance-quiet"
"""Where a certification says it is measuring in quiet, for the certifications in other processes (``-n``,
``tox p``) to see."""
QUIET_LOCK = "quiet.lock"
"""The file in :data:`QUIET_DIR` whose lock the certification measuring in quiet holds: one at a time on the host."""


def task_waits(dump: str) -> dict[str, float] | None:
    """Each task's seconds spent runnable but not running, from a :data:`SCHEDSTAT_SCRIPT` dump (``PID/TID program``:
    seconds); None when the dump has none."""
    waits = {}
    for fields in (line.split(maxsplit=4) for line in dump.splitlines()):
        if len(fields) == 5 and all(field.isdigit() for field in fields[1:4]):
            task = fields[0].removesuffix("/schedstat").replace("/task/", "/")
            waits[f"{task} {fields[4].strip()}"] = int(fields[2]) / 1e9
    return waits or None


def path_wait(before: dict[str, float], after: dict[str, float]) -> float:
    """The seconds a request's path through the image can have waited for a CPU between two dumps.

    A request passes through each program of the image at most once, in one of its tasks (nginx, then a gunicorn
    worker; MMS's Java frontend, then a Python worker), so the path waited at most, for each program, as long as
    its task that waited longest. The tasks serving the other requests in flight wait beside the path, not on it:
    their waits are not added. A task born meanwhile counts from zero; one gone is not seen."""
    longest: dict[str, float] = {}
    for task, wait in after.items():
        program = task.partition(" ")[2]
        longest[program] = max(longest.get(program, 0.0), wait - before.get(task, 0.0))
    return sum(max(0.0, wait) for wait in longest.values())


def measured_wait(
    image_before: dict[str, float] | None,
    image_after: dict[str, float] | None,
    own_before: float | None,
    own_after: float | None,
) -> float | None:
    """A measurement's control: the seconds the request's path through the image (:func:`path_wait`) and the
    measuring thread waited for a CPU between two readings of each; None when a reading is missing."""
    if image_before is None or image_after is None or own_before is None or own_after is None:
        return None
    return path_wait(image_before, image_after) + max(0.0, own_after - own_before)


def own_wait() -> float | None:
    """The seconds the calling thread has waited for a CPU (None off Linux)."""
    try:
        fields = Path("/proc/thread-self/schedstat").read_text().split()
    except OSError:
        return None
    return int(fields[1]) / 1e9 if len(fields) == 3 and fields[1].isdigit() else None


def stalled_seconds() -> float | None:
    """The seconds since boot in which some task on the host waited for a CPU (PSI ``some total``); None without
    PSI."""
    try:
        first = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except (OSError, IndexError):
        return None
    figures = dict(part.split("=", 1) for part in first.split()[1:] if "=" in part)
    total = figures.get("total", "")
    return int(total) / 1e6 if total.isdigit() else None


def load_average() -> tuple[float, float, float] | None:
    try:
        return os.getloadavg()
    except OSError:
        return None


def cpu_pressure() -> float | None:
    """The share of the last 10 s in which some task on the host waited for a CPU (PSI ``some avg10``, %)."""
    try:
        first = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except (OSError, IndexError):
        return None
    figures = dict(part.split("=", 1) for part in first.split()[1:] if "=" in part)
    return float(figures["avg10"]) if "avg10" in figures else None


@dataclass(frozen=True)
class Load:
    """What the host was doing while a duration was measured: the control beside the measurement."""

    waited: float | None
    """Seconds a request's path through the image (:func:`path_wait`) and the harness's measuring thread waited for a
    CPU during the measurement; None when the image's could not be read."""
    load_average: tuple[float, float, float] | None = None
    pressure: float | None = None
    """The host's CPU pressure (PSI some avg10, %) at the end of the measurement, when the kernel keeps it."""
    cpus: int = 1

    def describe(self) -> str:
        parts = []
        if self.waited is not None:
            parts.append(f"the image and the harness waited {self.waited:.2f} s for a CPU")
        if self.load_average is not None:
            parts.append("load average " + ", ".join(f"{figure:.2f}" for figure in self.load_average))
        if self.pressure is not None:
            parts.append(f"CPU pressure {self.pressure:.0f}%")
        return "; ".join([*parts, f"{self.cpus} CPUs"]) if parts else "the host's load unknown"

    def figures(self, prefix: str) -> dict[str, float]:
        """The figures for a check's measurements, named after its clause (``srv13_cpu_wait_seconds``)."""
        figures = {}
        if self.waited is not None:
            figures[f"{prefix}_cpu_wait_seconds"] = self.waited
        if self.load_average is not None:
            figures[f"{prefix}_load_average"] = self.load_average[0]
        if self.pressure is not None:
            figures[f"{prefix}_cpu_pressure_percent"] = self.pressure
        return figures


def fair(duration: float, limit: float, load: Load) -> bool:
    """Whether ``duration``, measured under ``load``, may be judged against ``limit``: a duration within the limit
    always (load only lengthens), one over it when it is still over it less every second of waiting for a CPU (or,
    when that is unknown, when the load average kept no task waiting)."""
    if duration < limit:
        return True
    if load.waited is not None:
        return duration - load.waited >= limit
    return quiet_host(load)


BUSY_PRESSURE_PERCENT = 75.0
"""CPU pressure (PSI some avg10, %) from which the host counts as busy whatever its load average, which follows a load
a minute late: measured on this 2-CPU machine, one certification alone reaches up to 46 %, the same beside two CPU
burners and other certifications 75 to 96 % (while the minute's average still said 1.4)."""


def quiet_host(load: Load) -> bool:
    """Without the image's waits: whether the host kept no task waiting, its load average under its CPUs and its CPU
    pressure (when the kernel keeps it) under :data:`BUSY_PRESSURE_PERCENT`; nothing known is busy."""
    if load.load_average is None or load.load_average[0] >= load.cpus:
        return False
    return load.pressure is None or load.pressure < BUSY_PRESSURE_PERCENT


def unjudged(what: str, duration: float, limit: float, load: Load) -> str:
    """The reason of a clause not judged because the host was too busy (a skip, never a pass or a failure)."""
    return (
        f"not judged, the host was too busy to time it fairly, twice (the second time with the other checks "
        f"paused): {what} took {duration:.2f} s against the {limit:g} s limit, under load: {load.describe()}"
    )


RESOLUTION_S = 1.0
"""A start-up budget and a stop's grace count whole seconds (the option is rounded down to them; ``docker stop -t``,
SageMaker's 30 s and 120 s): less than a second of waiting for a CPU cannot have moved a start-up or a stop past
them."""


def fair_startup(load: Load) -> bool:
    """Whether a start-up that ran out of its budget, under ``load``, may fail. Its own time is at least the budget
    less the seconds its tasks waited for a CPU since they were born, so it fails fairly only when they waited under
    :data:`RESOLUTION_S` (a server idling on the wrong port waits for nothing); when the waits are unknown,
    when the load average kept no task waiting."""
    if load.waited is not None:
        return load.waited < RESOLUTION_S
    return quiet_host(load)


def lifetime_load(host: Host, read_waits: Callable[[], dict[str, float] | None]) -> Load:
    """The load a container has run under since it started: its tasks' waits for a CPU since they were born (the
    path through each program, :func:`path_wait`), else unknown (then the load average decides)."""
    try:
        waits = read_waits()
    except Exception:  # the engine lost the container: the load average stands in
        waits = None
    return host.measure_load(path_wait({}, waits) if waits else None)


def fair_kill(grace: float, limit: float, load: Load) -> bool:
    """Whether a stop SIGKILLed at the end of its ``grace``, under ``load``, may be judged against ``limit``. Its own
    time is at least the grace less the seconds its tasks waited for a CPU from the SIGTERM to shortly before the
    SIGKILL, so it fails fairly when that is still at or over the limit, or when they waited under
    :data:`RESOLUTION_S` (a shell that never passes SIGTERM on waits for nothing); when the waits are unknown,
    when the load average kept no task waiting."""
    if load.waited is not None:
        return load.waited < RESOLUTION_S or grace - load.waited >= limit
    return fair(grace, limit, load)


def startup_unjudged(budget: float, load: Load) -> str:
    """The reason SRV-2 is not judged when a start-up ran out of its budget twice on a busy host."""
    return (
        "not judged, the host was too busy to time it fairly, twice (the second time with the other checks paused): "
        f"the start-up did not answer 200 on /ping within the {budget:g} s budget, under load: {load.describe()}"
    )


SETTLED_PRESSURE_PERCENT = 20.0
"""CPU pressure over :data:`PRESSURE_SAMPLE_S` under which the host has settled for a quiet measurement. Measured on
this 2-CPU machine: idle 0.4 %, two CPU burners (one per CPU, nothing else runnable) 1 %, three burners 50 %."""
PRESSURE_SAMPLE_S = 0.5
SETTLE_MAX_S = 15.0
"""The longest a quiet measurement waits for the host to settle: what other certifications had in flight when the
quiet began (a 3 s SRV-13 window, a container starting, a training run) ends within it."""


class Host:
    """The machine the harness measures on: the control of a measurement and the quiet for measuring again.

    One per process (:data:`HOST`), shared by every certification in it; other processes see its quiet through
    :data:`QUIET_DIR`. :meth:`pause_point` is where other work waits for a quiet measurement to end: before each
    request a check sends and before each check starts (never inside a measurement, whose own durations would
    then include the pause); :meth:`pause_for_other_certifications` is where a container start or a training run
    waits while another certification measures in quiet. A quiet measurement starts once the host has settled
    (:meth:`settle`): the work already in flight when the quiet began is over."""

    def __init__(self, clock: Clock = REAL, directory: Path = QUIET_DIR) -> None:
        self.clock = clock
        self.directory = directory
        self._holders: dict[str, int] = {}
        self._changed = threading.Condition()
        self._numbers = itertools.count()
        self._turn: str | None = None  # the certification measuring in quiet here
        self._turn_depth = 0
        self._turn_lock: IO[str] | None = None  # its hold on the host-wide lock

    def thread_wait(self) -> float | None:
        """The seconds the calling thread (the one timing a measurement) has waited for a CPU."""
        return own_wait()

    def measure_load(self, waited: float | None) -> Load:
        return Load(waited, load_average(), cpu_pressure(), os.cpu_count() or 1)

    def pressure_sample(self) -> float | None:
        """The host's CPU pressure (%) over the next :data:`PRESSURE_SAMPLE_S`; None without PSI."""
        before, started = stalled_seconds(), self.clock.now()
        if before is None:
            return None
        self.clock.sleep(PRESSURE_SAMPLE_S)
        after = stalled_seconds()
        return None if after is None else 100 * (after - before) / max(self.clock.now() - started, 1e-3)

    def settle(self) -> float:
        """Wait until the host's CPU pressure over the last sample is under :data:`SETTLED_PRESSURE_PERCENT`, at most
        :data:`SETTLE_MAX_S`; the seconds waited. Other work holds its next step when a quiet begins, not the step
        it is in: another certification's measurement, container start or training run in flight would otherwise
        load the quiet measurement as much as the first one (the avg10 of :func:`cpu_pressure` follows it 10 s
        late)."""
        started = self.clock.now()
        while self.clock.now() - started < SETTLE_MAX_S:
            pressure = self.pressure_sample()
            if pressure is None or pressure < SETTLED_PRESSURE_PERCENT:
                break
        return self.clock.now() - started

    @contextlib.contextmanager
    def quiet(self, holder: str) -> Iterator[None]:
        """Hold other checks' requests (here and in other certifications on the host) while ``holder`` (an image
        reference, a space, what measures) measures, once no other certification measures in quiet (:meth:`_take_turn`)
        and the host has settled (:meth:`settle`)."""
        certification = holder.split(" ", 1)[0]
        taken = self._take_turn(certification)
        try:
            with self._holding(holder):
                yield
        finally:
            if taken:
                self._end_turn()

    def _take_turn(self, certification: str) -> bool:
        """Wait (at most :data:`QUIET_MAX_S`) until no other certification, here or in another process on the host,
        measures in quiet, and take the turn; False when the wait ran out (the measurement goes on beside the other,
        and its control judges it). Two quiet measurements at once would load each other as much as the first
        measurements did (seen: two broken images side by side both measuring SRV-13 again at once). One
        certification's quiets nest: a server it starts again in quiet within a check's quiet."""
        deadline = time.monotonic() + QUIET_MAX_S  # real time: other threads and processes end the wait
        with self._changed:
            while True:
                if self._turn == certification:
                    self._turn_depth += 1
                    return True
                if self._turn is None and self._lock_host():
                    self._turn, self._turn_depth = certification, 1
                    return True
                if time.monotonic() >= deadline:
                    return False
                self._changed.wait(0.2)

    def _lock_host(self) -> bool:
        """Take the host-wide quiet lock (a file lock in :attr:`directory`, which other processes take too) without
        waiting; True also when the lock file cannot be made (nothing to coordinate through)."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle = (self.directory / QUIET_LOCK).open("a")
        except OSError:
            return True
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._turn_lock = handle
        return True

    def _end_turn(self) -> None:
        with self._changed:
            self._turn_depth -= 1
            if not self._turn_depth:
                self._turn = None
                if self._turn_lock is not None:
                    self._turn_lock.close()  # closing releases the file lock
                    self._turn_lock = None
            self._changed.notify_all()

    @contextlib.contextmanager
    def _holding(self, holder: str) -> Iterator[None]:
        number = next(self._numbers)
        marker = self.directory / f"{os.getpid()}-{number}"
        with self._changed:
            self._holders[holder] = self._holders.get(holder, 0) + 1
        with contextlib.suppress(OSError):
            self.directory.mkdir(exist_ok=True)
            marker.write_text(holder)
        try:
            self.settle()
            yield
        finally:
            with contextlib.suppress(OSError):
                marker.unlink()
            with self._changed:
                self._holders[holder] -= 1
                if not self._holders[holder]:
                    del self._holders[holder]
                self._changed.notify_all()

    def pause_point(self, who: str) -> float:
        """Wait while another holder measures in quiet (at most :data:`QUIET_MAX_S`); the seconds waited. A holder
        itself never waits, so that two quiet measurements at once cannot hold each other."""
        return self._wait_while(lambda: self._others_quiet(who))

    def pause_for_other_certifications(self, certification: str) -> float:
        """Wait while another certification measures in quiet (at most :data:`QUIET_MAX_S`): where a container
        start or a training run of ``certification`` (an image reference) waits, the heaviest work a certification
        does. A certification measuring in quiet itself never waits: its measurement may need the container, and two
        such could otherwise hold each other."""
        return self._wait_while(lambda: self._quiet_elsewhere(certification))

    def _wait_while(self, held: Callable[[], bool]) -> float:
        # Real time, whatever the clock: this waits for other threads and processes, which no virtual clock moves.
        started = time.monotonic()
        while held() and time.monotonic() - started < QUIET_MAX_S:
            with self._changed:
                self._changed.wait(0.2)
        return time.monotonic() - started

    def _others_quiet(self, who: str) -> bool:
        return self._held(lambda holder: holder == who)

    def _quiet_elsewhere(self, certification: str) -> bool:
        # One measuring in quiet itself (a stop on a fresh container) goes on: two never hold each other.
        return self._held(lambda holder: holder.startswith(f"{certification} "))

    def _held(self, own: Callable[[str], bool]) -> bool:
        """Whether a quiet measurement holds the caller: none of the holders here is ``own``, and some holder here
        or a live marker of another process is."""
        with self._changed:
            if any(own(holder) for holder in self._holders):
                return False
            if self._holders:
                return True
        return any(_live_marker(path) for path in _markers(self.directory))


def _markers(directory: Path) -> list[Path]:
    try:
        own = f"{os.getpid()}-"
        return [path for path in directory.iterdir() if not path.name.startswith(own) and path.name != QUIET_LOCK]
    except OSError:
        return []


def _live_marker(path: Path) -> bool:
    """A marker of a process still running, and recent (a killed run's marker is left behind)."""
    try:
        pid = int(path.name.split("-", 1)[0])
        try:
            os.kill(pid, 0)
        except PermissionError:
            pass  # another user's process, alive
        return time.time() - path.stat().st_mtime < QUIET_MAX_S
    except (ValueError, OSError):
        return False


HOST = Host()
"""The host of every certification in this process."""
