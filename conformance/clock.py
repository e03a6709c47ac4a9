"""Time as the harness reads it: a :class:`Clock` the checks and the scheduler take from their context.

Checks never call ``time.monotonic`` or ``time.sleep`` themselves: they ask ``ctx.clock``, so that the fake target
runs them on :class:`VirtualClock` (a sleep costs nothing, and a test decides what time it is) and the Docker target
on :data:`REAL`. Durations of HTTP exchanges are the exchange's own (:mod:`conformance.http`), not the clock's.
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


class RealClock:
    """The host's monotonic clock."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


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

    def advance(self, seconds: float) -> None:
        if seconds > 0:
            with self._lock:
                self._now += seconds


REAL: Clock = RealClock()
"""The clock of every certification on a real engine."""
