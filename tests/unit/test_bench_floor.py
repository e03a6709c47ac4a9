"""The certification benchmark's floor: the earliest a run could end, given ENV-3's frozen request."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_certification.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_certification", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def report(containers: list[dict[str, object]], measurements: dict[str, float]) -> dict[str, object]:
    return {
        "timeline": {"started": "2026-12-06T21:59:41.500Z", "containers": containers},
        "measurements": measurements,
    }


FROZEN_SERVER = {"role": "serving", "configuration": "env-timeout", "start_s": 2.1, "ready_s": 3.4, "stop_s": 18.5}


def test_floor_is_the_frozen_request_end_from_the_run_start(bench: ModuleType) -> None:
    # The run started 0.5 s before the timeline; ENV-3's server was ready at 3.4 s, the request left 0.2 s after
    # the freeze and ended 11.1 s later.
    found = bench.floor(
        report([FROZEN_SERVER], {"freeze_to_request_seconds": 0.2, "frozen_request_seconds": 11.1}),
        run_started=bench.epoch("2026-12-06T21:59:41.000Z"),
    )
    assert found == pytest.approx(0.5 + 3.4 + 0.2 + 11.1)


@pytest.mark.parametrize(
    ("containers", "measurements"),
    [
        ([], {"freeze_to_request_seconds": 0.2, "frozen_request_seconds": 11.1}),  # ENV-3 not run (--clause)
        ([FROZEN_SERVER], {}),  # ENV-3 skipped or never froze
        ([{**FROZEN_SERVER, "ready_s": None}], {"freeze_to_request_seconds": 0.2, "frozen_request_seconds": 11.1}),
    ],
)
def test_no_floor_without_a_frozen_request(
    bench: ModuleType, containers: list[dict[str, object]], measurements: dict[str, float]
) -> None:
    assert bench.floor(report(containers, measurements), run_started=bench.epoch("2026-12-06T21:59:41.000Z")) is None
