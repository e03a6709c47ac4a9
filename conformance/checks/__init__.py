"""Importing this package registers every check (one module per part of the contract)."""

from __future__ import annotations

from conformance.checks import (
    asynchronous,
    batch,
    bidirectional,
    connections,
    environment,
    generative,
    health,
    hosts,
    image,
    invocations,
    negotiation,
    profiles,
    robustness,
    serving,
    timeouts,
    training,
    training_job,
)

__all__ = [
    "asynchronous",
    "batch",
    "bidirectional",
    "connections",
    "environment",
    "generative",
    "health",
    "hosts",
    "image",
    "invocations",
    "negotiation",
    "profiles",
    "robustness",
    "serving",
    "timeouts",
    "training",
    "training_job",
]
