"""Time a full certification of each reference image (images already built).

Prints, per image: wall time of `pytest --image=...`, containers started, the verdict, and the
measured figures the report carries. Target on the 2-core machine: under 60 s per image.

    python benchmarks/bench_certification.py [IMAGE ...]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ["sagemaker-conformance/decision_trees:latest", "sagemaker-conformance/catboost:latest"]


def certify(image: str) -> tuple[float, dict[str, object]]:
    with tempfile.TemporaryDirectory() as reports:
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                f"--image={image}",
                f"--conformance-report={reports}",
                "-q",
                "-p",
                "no:cacheprovider",
            ],
            cwd=ROOT,
            check=False,
            stdout=subprocess.DEVNULL,
        )
        seconds = time.perf_counter() - started
        report = json.loads(next(Path(reports).glob("*.json")).read_text())
    return seconds, report


def main() -> None:
    images = sys.argv[1:] or DEFAULT
    print(f"{'image':45} {'wall s':>7} {'containers':>10} {'verdict':>8}  measurements")
    for image in images:
        seconds, report = certify(image)
        figures = ", ".join(f"{k}={v}" for k, v in sorted(report["measurements"].items()))  # type: ignore[union-attr]
        print(f"{image:45} {seconds:7.1f} {report['containers_started']:>10} {report['verdict']:>8}  {figures}")


if __name__ == "__main__":
    main()
