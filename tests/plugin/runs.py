"""What the plugin's tests share: the images they name, a minimal test-dir, and how a run's output is read."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from unit.faketarget import FakeEngine

from conformance.registry import clauses

BASE_IMAGE = "sagemaker-conformance/base:bookworm-py3.11"
ROOT = Path(__file__).parents[2]
GOOD = "fake/good:1"
"""An image of the fake engine (tests/unit/faketarget.py, FAKE_IMAGES) that keeps every clause."""
CLAUSES = list(clauses())
SCHEMA = json.loads((ROOT / "conformance" / "report.schema.json").read_text())


def write_test_dir(root: Path, policy: str | None = None) -> Path:
    (root / "input" / "config").mkdir(parents=True)
    (root / "input" / "config" / "hyperparameters.json").write_text('{"max_depth": "3"}')
    (root / "input" / "data" / "training").mkdir(parents=True)
    (root / "input" / "data" / "training" / "iris.csv").write_text("0,5.1,3.5,1.4,0.2\n1,6.2,2.9,4.3,1.3\n")
    (root / "payload.csv").write_text("5.1,3.5,1.4,0.2\n6.2,2.9,4.3,1.3\n")
    if policy is not None:
        (root / "conformance.toml").write_text(policy)
    return root


def usage_error(result: pytest.RunResult) -> str:
    """The one error a usage mistake prints: exit code 4, a single ERROR line of plain text, no traceback."""
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.outlines + result.errlines
    output = "\n".join(result.outlines + result.errlines)
    assert "Traceback" not in output
    assert "INTERNALERROR" not in output
    errors = [line for line in result.errlines if line.startswith("ERROR:")]
    assert len(errors) == 1, result.errlines
    return output[output.index("ERROR:") :].strip()


def collected(result: pytest.RunResult) -> list[str]:
    assert result.ret == pytest.ExitCode.OK, result.outlines + result.errlines
    return [line for line in result.outlines if "::test_clause[" in line]


def clause_ids(result: pytest.RunResult) -> list[str]:
    return [re.search(r"-([A-Z]{3}-\d+)-[A-Z]+\]$", line).group(1) for line in collected(result)]  # type: ignore[union-attr]


def short_id(reference: str) -> str:
    """How the header shortens the id the fake engine gives ``reference``."""
    return FakeEngine().inspect(reference).id[7:19]
