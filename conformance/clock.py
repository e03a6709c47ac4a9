"""Time as the harness reads it: a :class:`Clock` the checks and the scheduler take from their context.

Checks never call ``time.monotonic`` or ``time.sleep`` themselves (nor wait for a thread with a timeout in seconds):
they ask ``ctx.clock``, so that the fake target runs them on :class:`VirtualClock` (a sleep costs nothing, and a
test decides what time it is) or, where threads race, :class:`ScaledClock` (real time, run faster), and the Docker
target on :data:`REAL`. Durations of HTTP exchanges are the exchange's own (:mod:`conformance.http`), not the clock's.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """Monotonic seconds and a way to wait; all the harness needs of time."""

    def now(self) -> float:
        """Seconds on a monotonic clock (only differences mean anything)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (no wait for zero or less)."""
        ...

    def join(self, thread: threading.Thread, seconds: float) -> None:
        """Wait at most ``seconds`` for ``thread`` to end (a watch between its looks)."""
        ...


class RealClock:
    """The host's monotonic clock."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def join(self, thread: threading.Thread, seconds: float) -> None:
        thread.join(max(seconds, 0.0))


class VirtualClock:
    """Time that moves only when someone sleeps (or :meth:`advance` is called): for the fake target.

    Shared by threads: a sleep advances everyone's time, which keeps a polling loop's deadline reachable without
    waiting for it."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def join(self, thread: threading.Thread, seconds: float) -> None:
        """Waits for the thread in real time, at most ``seconds``, and moves no one's time: how long another
        thread's work takes is not this clock's to say (the thread moves it when it sleeps)."""
        thread.join(max(seconds, 0.0))

    def advance(self, seconds: float) -> None:
        if seconds > 0:
            with self._lock:
                self._now += seconds


class ScaledClock:
    """Real time, ``factor`` times faster: each real second is ``factor`` seconds on this clock.

    For fakes whose threads race (ENV-3's watch of the process table while a request is open, the fake image
    playing the server's side): unlike :class:`VirtualClock`, time passes for every thread at once, so the race is
    the one real time runs, in a ``factor``-th of the time. Everything in the race must sleep and read on this
    clock."""

    def __init__(self, factor: float, start: float = 1000.0) -> None:
        self.factor = factor
        self._start = start
        self._origin = time.monotonic()

    def now(self) -> float:
        return self._start + (time.monotonic() - self._origin) * self.factor

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds / self.factor)

    def join(self, thread: threading.Thread, seconds: float) -> None:
        thread.join(max(seconds, 0.0) / self.factor)


REAL: Clock = RealClock()
"""The clock of every certification on a real engine."""
