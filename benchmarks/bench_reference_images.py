"""Benchmark the reference images: size, cold start, and /invocations throughput against the stack's ceiling.

    python benchmarks/bench_reference_images.py [--images decision_trees catboost] [--prefix sagemaker-conformance]
                                                [--seconds 3] [--max-requests 500]

For each image PREFIX/NAME:latest (built by scripts/build-images.sh) it trains a model on the test-dir, then
measures:
- image size;
- cold start: from creating the `serve` container (model copied in with put_archive, as SageMaker
  extracts model.tar.gz before the container starts) to the first 200 on /ping; median of 3 runs;
- throughput and latency of POST /invocations with the test-dir's payload at concurrency 1 and 8
  (each cell bounded by --seconds and --max-requests), for the model and for the same nginx + gunicorn
  stack answering a constant: the ratio is the share of the stack's ceiling that the model keeps. The
  ceiling is the image plus benchmarks/ceiling (ceiling.py as the WSGI app), built here as
  PREFIX/NAME-ceiling:latest, so that no benchmark code ships in the image. The two run side by side and
  alternate in 5 short rounds, so background load on the machine affects both alike.
Traffic goes to 127.0.0.1 only (published ports). Every container is labelled sagemaker-conformance=1 and
removed at the end. Targets (2 CPUs): cold start < 2 s (decision trees) / < 3 s (catboost), throughput
>= 0.9 x ceiling (decision trees) / >= 0.7 x ceiling (catboost), decision-tree image < 500 MB.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tarfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import requests

ROOT = Path(__file__).resolve().parent.parent
TEST_DIRS = ROOT / "test-dirs"
CEILING_CONTEXT = ROOT / "benchmarks" / "ceiling"
LABELS = {"sagemaker-conformance": "1"}
COLD_START_TARGET_S = {"decision_trees": 2.0, "catboost": 3.0}
SIZE_TARGET_MB = {"decision_trees": 500.0}
RATIO_TARGET = {"decision_trees": 0.9, "catboost": 0.7}
CONCURRENCIES = (1, 8)
ROUNDS = 5  # each load cell is split into this many alternating model/ceiling rounds


def tar_of(files: Mapping[str, bytes], dirs: tuple[str, ...] = ()) -> bytes:
    """A tar archive of in-memory files and empty directories (paths relative to where it is extracted)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name in dirs:
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            archive.addfile(info)
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def train(client: Any, image: str, test_dir: Path) -> bytes:
    """Train on the test-dir; return the model as a tar to extract at /opt (ml/model/...)."""
    files = {
        f"ml/{p.relative_to(test_dir).as_posix()}": p.read_bytes()
        for p in (test_dir / "input").rglob("*")
        if p.is_file()
    }
    container = client.containers.create(image, command=["train"], labels=LABELS)
    try:
        container.put_archive("/opt", tar_of(files, ("ml", "ml/model", "ml/output")))
        container.start()
        code = container.wait(timeout=300)["StatusCode"]
        if code != 0:
            sys.exit(f"{image}: train exited {code}:\n{container.logs().decode()[-2000:]}")
        stream, _ = container.get_archive("/opt/ml/model")
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            model = {
                f"ml/{m.name}": tar.extractfile(m).read()  # type: ignore[union-attr]
                for m in tar.getmembers()
                if m.isfile()
            }
        return tar_of(model, ("ml", "ml/model"))
    finally:
        container.remove(force=True)


class Server:
    """A running `serve` container on a random loopback port."""

    def __init__(self, client: Any, image: str, model_tar: bytes, env: dict[str, str] | None = None) -> None:
        self.started = time.perf_counter()
        self.container = client.containers.create(
            image, command=["serve"], labels=LABELS, environment=env or {}, ports={"8080/tcp": ("127.0.0.1", None)}
        )
        self.container.put_archive("/opt", model_tar)
        self.container.start()
        self.container.reload()
        port = self.container.attrs["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostPort"]
        self.url = f"http://127.0.0.1:{port}"

    def wait_ready(self, budget_s: float = 60.0) -> float:
        """Seconds from container creation to the first 200 on /ping."""
        deadline = time.perf_counter() + budget_s
        with requests.Session() as session:
            while time.perf_counter() < deadline:
                try:
                    if session.get(f"{self.url}/ping", timeout=2).status_code == 200:
                        return time.perf_counter() - self.started
                except requests.exceptions.RequestException:
                    pass
                time.sleep(0.01)
        self.container.reload()
        raise RuntimeError(f"no 200 on /ping within {budget_s} s ({self.container.status}):\n{self.logs()}")

    def logs(self) -> str:
        return str(self.container.logs().decode("utf-8", "replace")[-2000:])

    def close(self) -> None:
        self.container.remove(force=True)


@dataclass
class Cell:
    latencies: list[float]
    seconds: float
    errors: int

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else 0.0

    @property
    def p99_ms(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000 if ordered else 0.0

    @staticmethod
    def merge(parts: list[Cell]) -> Cell:
        return Cell(
            [x for part in parts for x in part.latencies],
            sum(part.seconds for part in parts),
            sum(part.errors for part in parts),
        )


def load(url: str, payload: bytes, concurrency: int, seconds: float, max_requests: int) -> Cell:
    """POST the payload from `concurrency` threads (keep-alive sessions) until the time or count bound."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    issued = [0]
    deadline = time.perf_counter() + seconds

    def worker() -> None:
        with requests.Session() as session:
            while True:
                with lock:
                    if issued[0] >= max_requests or time.perf_counter() >= deadline:
                        return
                    issued[0] += 1
                start = time.perf_counter()
                try:
                    ok = session.post(url, data=payload, headers={"Content-Type": "text/csv"}, timeout=30).ok
                except requests.exceptions.RequestException:
                    ok = False
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
                    errors[0] += not ok

    # Warm-up: the first requests of each worker pay for lazy imports and connection set-up.
    with requests.Session() as warm:
        for _ in range(3):
            warm.post(url, data=payload, headers={"Content-Type": "text/csv"}, timeout=30)
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Cell(latencies, time.perf_counter() - began, errors[0])


def build_ceiling(client: Any, image: str) -> str:
    """The image with ceiling.py as its WSGI app (benchmarks/ceiling/Dockerfile); returns its tag."""
    tag = image.rsplit(":", 1)[0] + "-ceiling:latest"
    client.images.build(path=str(CEILING_CONTEXT), buildargs={"IMAGE": image}, tag=tag, rm=True, forcerm=True)
    return tag


def bench_image(
    client: Any, prefix: str, name: str, seconds: float, max_requests: int, cold_runs: int
) -> dict[str, Any]:
    image = f"{prefix}/{name}:latest"
    try:
        size_mb = client.images.get(image).attrs["Size"] / 1e6
    except docker.errors.ImageNotFound:
        sys.exit(f"{image} is missing: run scripts/build-images.sh")
    ceiling_image = build_ceiling(client, image)
    test_dir = TEST_DIRS / name
    payload = (test_dir / "payload.csv").read_bytes()
    model_tar = train(client, image, test_dir)

    cold: list[float] = []
    for _ in range(cold_runs):
        server = Server(client, image, model_tar)
        try:
            cold.append(server.wait_ready())
        finally:
            server.close()

    # Both servers run side by side and the cells alternate in short rounds (model, ceiling, model, ...), so
    # that a change in the machine's background load hits both variants alike instead of skewing the ratio.
    cells: dict[tuple[str, int], Cell] = {}
    servers = {
        "model": Server(client, image, model_tar),
        "ceiling": Server(client, ceiling_image, model_tar),
    }
    try:
        for server in servers.values():
            server.wait_ready()
        for concurrency in CONCURRENCIES:
            rounds: dict[str, list[Cell]] = {variant: [] for variant in servers}
            for _ in range(ROUNDS):
                for variant, server in servers.items():
                    rounds[variant].append(
                        load(
                            f"{server.url}/invocations",
                            payload,
                            concurrency,
                            seconds / ROUNDS,
                            max(1, max_requests // ROUNDS),
                        )
                    )
            for variant, parts in rounds.items():
                cells[variant, concurrency] = Cell.merge(parts)
    finally:
        for server in servers.values():
            server.close()
    return {
        "name": name,
        "image": image,
        "size_mb": size_mb,
        "cold": cold,
        "cells": cells,
        "rows": payload.count(b"\n"),
    }


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def report(result: dict[str, Any]) -> list[str]:
    name = result["name"]
    cold_median = statistics.median(result["cold"])
    lines = [f"## {name}  ({result['image']}; payload: {result['rows']} rows)", ""]
    size_target = SIZE_TARGET_MB.get(name)
    size_note = f"target < {size_target:.0f} MB: {verdict(result['size_mb'] < size_target)}" if size_target else ""
    lines.append(f"image size       {result['size_mb']:8.0f} MB   {size_note}")
    cold_target = COLD_START_TARGET_S[name]
    runs = ", ".join(f"{c:.2f}" for c in result["cold"])
    lines.append(
        f"cold start       {cold_median:8.2f} s    (runs: {runs}; target < {cold_target:.0f} s: "
        f"{verdict(cold_median < cold_target)})"
    )
    lines.append("")
    header = (
        f"{'concurrency':>11} | {'model req/s':>11} {'p50 ms':>7} {'p99 ms':>7} | "
        f"{'ceiling req/s':>13} {'p50 ms':>7} {'p99 ms':>7} | {'ratio':>5}"
    )
    lines += [header, "-" * len(header)]
    for concurrency in CONCURRENCIES:
        model, ceiling = result["cells"]["model", concurrency], result["cells"]["ceiling", concurrency]
        ratio = model.rps / ceiling.rps if ceiling.rps else 0.0
        errors = f"  errors: {model.errors}/{ceiling.errors}" if model.errors or ceiling.errors else ""
        lines.append(
            f"{concurrency:>11} | {model.rps:>11.0f} {model.p50_ms:>7.1f} {model.p99_ms:>7.1f} | "
            f"{ceiling.rps:>13.0f} {ceiling.p50_ms:>7.1f} {ceiling.p99_ms:>7.1f} | {ratio:>5.2f} "
            f"{verdict(ratio >= RATIO_TARGET[name])}{errors}"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", nargs="+", default=["decision_trees", "catboost"])
    parser.add_argument("--prefix", default="sagemaker-conformance", help="benchmark PREFIX/NAME:latest")
    parser.add_argument("--seconds", type=float, default=3.0, help="time bound per load cell")
    parser.add_argument("--max-requests", type=int, default=500, help="request bound per load cell")
    parser.add_argument("--cold-runs", type=int, default=3)
    args = parser.parse_args()
    client = docker.from_env()
    load_before = os.getloadavg()[0]
    out = []
    for name in args.images:
        print(f"benchmarking {name} ...", file=sys.stderr)
        out += [*report(bench_image(client, args.prefix, name, args.seconds, args.max_requests, args.cold_runs)), ""]
    # Other work on the same CPUs slows every number down: say how busy the machine was.
    header = (
        f"# reference images benchmark ({len(os.sched_getaffinity(0))} CPUs; 1-minute load average "
        f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after)"
    )
    print("\n".join([header, "", *out]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
