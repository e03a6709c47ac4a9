"""When each container of a certification ran: start, ready and stop, for the report's timeline.

The container classes mark their :class:`Span` as they go; :class:`Timeline` keeps the spans of one image's
certification in the order the containers were started. Times are wall-clock (``time.time()``) so that
they can be printed as dates; the report turns them into seconds since the certification began.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

TRAINING: Literal["training"] = "training"
SERVING: Literal["serving"] = "serving"


@dataclass
class Span:
    """One container the harness started: its role, its configuration, and when it started, was ready and
    stopped (None while it has not)."""

    role: str
    configuration: str
    started: float | None = None
    ready: float | None = None
    """The training run began (its container was running), or ``/ping`` first answered 200."""
    stopped: float | None = None
    """The container exited, was stopped, or was found gone; the first of these counts."""

    def mark(self, event: Literal["started", "ready", "stopped"], at: float | None = None) -> None:
        """Record ``event`` now (or ``at``), unless it was already recorded: the first time counts."""
        if getattr(self, event) is None:
            setattr(self, event, time.time() if at is None else at)


@dataclass
class Timeline:
    """The spans of one certification, in the order the containers were started."""

    origin: float = field(default_factory=time.time)
    spans: list[Span] = field(default_factory=list)

    def span(self, role: str, configuration: str) -> Span:
        span = Span(role, configuration)
        self.spans.append(span)
        return span

    def document(self) -> dict[str, Any]:
        """The report's ``timeline``: seconds since ``origin`` (the certification's start), None when unknown."""

        def offset(at: float | None) -> float | None:
            return None if at is None else round(max(at - self.origin, 0.0), 3)

        return {
            "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.origin))
            + f".{int(self.origin % 1 * 1000):03d}Z",
            "containers": [
                {
                    "role": s.role,
                    "configuration": s.configuration,
                    "start_s": offset(s.started),
                    "ready_s": offset(s.ready),
                    "stop_s": offset(s.stopped),
                }
                for s in self.spans
                if s.started is not None
            ],
        }


__all__ = ["SERVING", "TRAINING", "Span", "Timeline"]
