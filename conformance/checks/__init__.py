"""Importing this package registers every check (one module per part of the contract)."""

from __future__ import annotations

from conformance.checks import batch, environment, image, invocations, profiles, robustness, serving, training

__all__ = ["batch", "environment", "image", "invocations", "profiles", "robustness", "serving", "training"]
