"""Time a full certification of each image (images already built), and how close it comes to its limit.

Prints, per image, with default options:

* wall: the wall time of ``pytest --image=IMAGE`` (the whole run, collection and reports included);
* CPU: the CPU time the whole machine spent during the run (``/proc/stat``: every process, the engine's and the
  containers' included), so measure on a quiet machine;
* containers: the sum of the lifetimes of the containers the certification started (its report's timeline), what
  running them one after another costs;
* chain: the longest chain of containers that must follow one another, the floor for any scheduler: the training
  run whose model is served, then the longest-lived serving container, from its start to its stop; or the longest
  training run, when that is longer;
* wall / chain: how close the run comes to that floor (1.0 would be perfect overlap);
* floor: the earliest the run could have ended whatever the scheduler and the CPU: when ENV-3's frozen request
  ended (from the run's start to ENV-3's server answering /ping, then the freeze and the request, which the
  clause's rule keeps open for about T = 10 s). No certification that judges ENV-3 ends sooner; "-" when ENV-3
  froze nothing (not selected, skipped);
* the verdict, the containers started, and the clauses that failed.

The targets of issue 10 (default options, 2-core machine, images built): reference decision tree 10 s, CatBoost
12 s, a correct image whose empty-model server answers 404 and stays up (smc-good/empty-model-404, built by
tests/good_images/build.sh) 20 s, each slow catalogue image 90 s. On a machine shared with other work every
figure is inflated.

    python benchmarks/bench_certification.py [IMAGE[=TEST_DIR] ...] [-- PYTEST_ARGS]   (e.g. -- --clause SRV-9)

Without arguments: the two reference images, smc-good/empty-model-404 and the catalogue's slow images
(smc-broken/..., built by scripts/build-broken-images.sh), each with the test-dir the catalogue gives it.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = [
    "sagemaker-conformance/decision_trees:latest",
    "sagemaker-conformance/catboost:latest",
    "smc-good/empty-model-404:latest=test-dirs/decision_trees",
    "smc-broken/srv2-ping-3s:latest=test-dirs/decision_trees",
    "smc-broken/srv13-invocations-2-5s-block-ping:latest=test-dirs/decision_trees",
    "smc-broken/srv3-invocations-past-60s:latest=test-dirs/decision_trees",
    "smc-broken/img1-shell-form-serves-every-run:latest=test-dirs/decision_trees",
]


def busy_seconds() -> float:
    """CPU seconds the machine has spent busy since boot, every CPU and process (``/proc/stat``'s first line)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def certify(image: str, test_dir: str | None, extra: Sequence[str]) -> tuple[float, float, float, dict[str, Any]]:
    """Certify ``image``: wall seconds, CPU seconds, the run's start (epoch seconds) and its JSON report."""
    with tempfile.TemporaryDirectory() as reports:
        command = [sys.executable, "-m", "pytest", f"--image={image}", f"--conformance-report={reports}"]
        command += [f"--test-dir={test_dir}"] if test_dir else []
        began, started, cpu = time.time(), time.perf_counter(), busy_seconds()
        subprocess.run(
            [*command, "-q", "-p", "no:cacheprovider", *extra], cwd=ROOT, check=False, stdout=subprocess.DEVNULL
        )
        seconds, cpu = time.perf_counter() - started, busy_seconds() - cpu
        found = next(Path(reports).glob("*.json"), None)
        if found is None:  # pytest stopped before certifying (its usage error is above)
            sys.exit(f"bench_certification: no report for {image}: `{' '.join(command)}` certified nothing")
        report = json.loads(found.read_text())
    return seconds, cpu, began, report


def epoch(stamp: str) -> float:
    """Epoch seconds of a report's ISO 8601 UTC time (``2026-12-06T21:59:41.057Z``)."""
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def floor(report: Mapping[str, Any], run_started: float) -> float | None:
    """Seconds from ``run_started`` to the end of ENV-3's frozen request: its server's readiness on the timeline,
    then the freeze-to-request lead and the request (its measurements); None when ENV-3 froze nothing."""
    timeline = report.get("timeline", {})
    measurements = report.get("measurements", {})
    ready = [
        c["ready_s"] for c in timeline.get("containers", []) if c["configuration"] == "env-timeout" and c["ready_s"]
    ]
    if not ready or "frozen_request_seconds" not in measurements or "started" not in timeline:
        return None
    before = epoch(timeline["started"]) - run_started
    lead = float(measurements.get("freeze_to_request_seconds", 0.0))
    return before + float(max(ready)) + lead + float(measurements["frozen_request_seconds"])


def lifetimes(containers: Sequence[Mapping[str, Any]], end: float) -> list[tuple[str, str, float]]:
    """(role, configuration, seconds from start to stop) per container; one never seen stopping ran to ``end``."""
    spans = []
    for container in containers:
        start = container["start_s"]
        stop = container["stop_s"] if container["stop_s"] is not None else end
        spans.append((container["role"], container["configuration"], max(stop - start, 0.0)))
    return spans


def chain(spans: Sequence[tuple[str, str, float]]) -> float:
    """The longest chain that must run in sequence: the served model's training run, then the longest serving
    container; or the longest training run alone."""
    training = {configuration: seconds for role, configuration, seconds in spans if role == "training"}
    serving = [seconds for role, _, seconds in spans if role == "serving"]
    feeding = max(training.get("default", 0.0), training.get("minimal-config", 0.0) if serving else 0.0)
    return max(max(training.values(), default=0.0), feeding + max(serving, default=0.0))


def main() -> None:
    args = sys.argv[1:]
    extra = args[args.index("--") + 1 :] if "--" in args else []
    targets = (args[: args.index("--")] if "--" in args else args) or DEFAULT
    print(
        f"{'image':52} {'wall s':>7} {'CPU s':>6} {'containers s':>12} {'chain s':>8} {'wall/chain':>10} "
        f"{'floor s':>7}  verdict"
    )
    for target in targets:
        image, _, test_dir = target.partition("=")
        seconds, cpu, began, report = certify(image, test_dir or None, extra)
        lowest = floor(report, began)
        timeline = report.get("timeline", {})
        spans = lifetimes(timeline.get("containers", []), seconds)
        longest = chain(spans)
        total = sum(s for _, _, s in spans)
        ratio = f"{seconds / longest:10.1f}" if longest else f"{'-':>10}"
        failed = [c["id"] for c in report["clauses"] if c["verdict"] == "fail"]
        verdict = f"{report['verdict']} ({report['containers_started']} containers" + (
            f"; failed {', '.join(failed)})" if failed else ")"
        )
        least = f"{lowest:7.1f}" if lowest is not None else f"{'-':>7}"
        print(f"{image:52} {seconds:7.1f} {cpu:6.1f} {total:12.1f} {longest:8.1f} {ratio} {least}  {verdict}")


if __name__ == "__main__":
    main()
