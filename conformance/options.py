"""The user's knobs for one certification, from the command line or the ini file."""

from __future__ import annotations

from dataclasses import dataclass

from conformance import contract

PROPERTY_BUDGET_S = 15.0
"""Seconds of payload generation per property check (SRV-4, SRV-7, SRV-8) by default, besides --max-examples."""


@dataclass(frozen=True)
class Options:
    """The user's knobs, from the command line or the ini file."""

    startup_budget: float = contract.STARTUP_BUDGET_S
    train_timeout: float = 600.0
    platform: str = contract.DEFAULT_PLATFORM
    max_examples: int = 25
    property_budget: float = PROPERTY_BUDGET_S
    concurrency: int | None = None
    """Containers starting or training at once; None: one per CPU of the engine (see :func:`concurrency`)."""


def concurrency(options: Options, engine_cpus: int) -> int:
    """How many containers may be starting (up to their first 200 on /ping) or training at once: the option, else
    one per CPU the engine has, at least one. A server that is up and answering holds no slot: the checks' own
    requests are not bounded by it."""
    return options.concurrency or max(1, engine_cpus)
