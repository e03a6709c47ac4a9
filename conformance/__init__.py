"""sagemaker-conformance: certify a SageMaker bring-your-own-container image, clause by clause.

Checks live in :mod:`conformance.checks`, each registered under its clause ID (docs/clauses.md) with
:func:`~conformance.registry.check`; every contract constant is in :mod:`conformance.contract`.
"""

from __future__ import annotations

from conformance.failures import CheckSkipped, ConformanceFailure, HarnessError, Violation
from conformance.registry import REGISTRY, Clause, Level, check, clauses

__version__ = "0.2.0"
"""The one place the version is set (pyproject.toml reads it; so do the reports)."""
REPORT_SCHEMA_VERSION = "1.4"

__all__ = [
    "REGISTRY",
    "REPORT_SCHEMA_VERSION",
    "CheckSkipped",
    "Clause",
    "ConformanceFailure",
    "HarnessError",
    "Level",
    "Violation",
    "__version__",
    "check",
    "clauses",
]
