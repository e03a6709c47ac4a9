"""Importing this package registers every check (one module per part of the contract)."""

from __future__ import annotations

from conformance.checks import (
    batch,
    bidirectional,
    environment,
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
    "batch",
    "bidirectional",
    "environment",
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
