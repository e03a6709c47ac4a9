"""Fake images that each break one behaviour of the contract (or script one the checks must take in their stride):
the unit tests certify them and expect exactly one clause to fail (see :mod:`.checkfakes`)."""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from conformance import contract, procs
from conformance.opt_ml import TrainSpec
from conformance.pid1 import StopResult
from conformance.targets import ServeSpec
from conformance.targets.results import ImageInfo, TrainResult

from .checkfakes import PROC_NET_TCP_LOOPBACK, FakeImage, GoodImage, failed, image_info
from .fakeserver import FakeServer, Response


@dataclass
class MultiModel(GoodImage):
    """Claims multi-models and implements /models; ``duplicate_status`` is what a second load of one name answers,
    ``forgets`` makes unload answer 200 but keep the model."""

    duplicate_status: int = 409
    forgets: bool = True
    info: ImageInfo = field(default_factory=lambda: image_info(labels={contract.MULTI_MODEL_LABEL: "true"}))
    models: dict[str, str] = field(default_factory=dict)

    def handle(self, server: FakeServer, method: str, path: str, body: bytes, headers: Mapping[str, str]) -> Response:
        if not path.startswith(contract.MODELS_PATH):
            return super().handle(server, method, path, body, headers)
        name = path[len(contract.MODELS_PATH) + 1 :].removesuffix("/invoke")
        if method == "POST" and path == contract.MODELS_PATH:
            request = json.loads(body)
            if request["model_name"] in self.models:
                return Response(self.duplicate_status, b"already loaded", "text/plain")
            self.models[request["model_name"]] = request["url"]
            return Response(200, b'{"status": "loaded"}', "application/json")
        if method == "GET" and path == contract.MODELS_PATH:
            listed = [{"modelName": n, "modelUrl": u} for n, u in self.models.items()]
            return Response(200, json.dumps({"models": listed}).encode(), "application/json")
        if name not in self.models:
            return Response(404, b"not loaded", "text/plain")
        if method == "DELETE":
            if self.forgets:
                del self.models[name]
            return Response(200, b'{"status": "unloaded"}', "application/json")
        return self.invoke(server, body, headers)


@dataclass
class Serverless(GoodImage):
    """Needs ``startup_mb`` to start and ``peak_mb`` for a request of about 4 MB; over a memory limit, the kernel
    kills it (at start, the whole container; mid-request, the worker, and nginx answers 502)."""

    startup_mb: int = 200
    peak_mb: int = 600

    def serve(self, spec: ServeSpec) -> FakeServer:
        if spec.memory_mb is not None and self.startup_mb > spec.memory_mb:
            server = FakeServer(self, spec, ready=False, exited=True, exit_code=137, logs="Killed\n")
            server.oom = True
            return server
        return super().serve(spec)

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        limit = server.spec.memory_mb
        if limit is not None and len(body) > 1_000_000 and self.peak_mb > limit:
            server.oom_kills += 1
            return Response(502, b"<html>502 Bad Gateway</html>", "text/html")
        return super().invoke(server, body, headers)

    def memory_events(self, server: FakeServer) -> str | None:
        return f"low 0\nhigh 0\nmax 3\noom {server.oom_kills}\noom_kill {server.oom_kills}\n"


@dataclass
class WritesOutsideTmp(GoodImage):
    """Writes a cache to /opt/program at start: fine as root, refused on a read-only file system (ENV-9)."""

    def serve(self, spec: ServeSpec) -> FakeServer:
        if spec.read_only:
            logs = "OSError: [Errno 30] Read-only file system: '/opt/program/cache.json'\n"
            return FakeServer(self, spec, ready=False, exited=True, exit_code=1, logs=logs)
        return super().serve(spec)


@dataclass
class CapsRecords(GoodImage):
    """Answers only the first ``cap`` records of a request, with a 200: a fixed batch size in the app."""

    cap: int = 10_000

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        lines = body.splitlines(keepends=True)
        return super().invoke(server, b"".join(lines[: self.cap]), headers)


@dataclass
class LabelsHtml(GoodImage):
    """A web framework's default: the CSV answer goes out as text/html."""

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        answer = super().invoke(server, body, headers)
        return Response(answer.status, answer.body, "text/html; charset=utf-8" if answer.status == 200 else "")


@dataclass
class IgnoresAccept(GoodImage):
    """Answers text/csv whatever Accept asks for."""

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        return super().invoke(server, body, {k: v for k, v in headers.items() if k != "accept"})


@dataclass
class PadsAnswers(GoodImage):
    """Writes each prediction in a fixed 32-byte slot, padded with blank lines: no record reader sees the padding."""

    def predict(self, table: list[list[float]]) -> bytes:
        return b"".join(line.ljust(32, b"\n") for line in super().predict(table).splitlines())


def numbers(value: Any) -> list[float] | None:
    ok = isinstance(value, list) and len(value) == 4
    ok = ok and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value)
    return [float(v) for v in value] if ok else None


@dataclass
class JsonApi(FakeImage):
    """`{"instances": [[4 numbers], ...]}` in, `{"predictions": [{"score": ...}, ...]}` out."""

    dropped: int = 0

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        if headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return Response(415, b'{"error": "send application/json"}', "application/json")
        try:
            instances = json.loads(body.decode("utf-8"))["instances"]
            rows = [numbers(i) for i in instances]
        except (ValueError, KeyError, TypeError):
            return Response(400, b'{"error": "bad body"}', "application/json")
        if not rows or any(r is None for r in rows):
            return Response(400, b'{"error": "bad instance"}', "application/json")
        predictions = [{"score": round(sum(r or []), 4)} for r in rows]
        kept = predictions[: len(predictions) - self.dropped] if len(predictions) > 1 else predictions
        return Response(200, json.dumps({"predictions": kept}).encode(), "application/json")


@dataclass
class JsonLinesService(FakeImage):
    """One `{"features": [4 numbers]}` per line in, one `{"score": ...}` per line out."""

    split_on_newline: bool = False  # the twin's bug: a last line without a newline is lost

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        if headers.get("content-type", "").split(";")[0].strip() != "application/jsonlines":
            return Response(415, b"", "text/plain")
        try:
            text = body.decode("utf-8")
            lines = text.split("\n")[:-1] if self.split_on_newline else text.splitlines()
            rows = [numbers(json.loads(line)["features"]) for line in lines if line.strip()]
        except (ValueError, KeyError, TypeError):
            return Response(400, b"", "text/plain")
        if not rows or any(r is None for r in rows):
            return Response(400, b"", "text/plain")
        out = "".join(json.dumps({"score": round(sum(r or []), 4)}) + "\n" for r in rows)
        return Response(200, out.encode(), "application/jsonlines")


@dataclass
class SlowInvocations(GoodImage):
    """Every invocation takes 61 s (the fake answers at once, with that elapsed time)."""

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        response = super().invoke(server, body, headers)
        return replace(response, elapsed=61.0)


@dataclass
class PingThreeSeconds(GoodImage):
    def ping(self, server: FakeServer) -> Response:
        return Response(200, b"", None, elapsed=3.0)


@dataclass
class Trains(GoodImage):
    """Training runs scripted per spec name; the rest as a good image. A run shared by several conditions
    (opt_ml.combine: "isolated+stray-files") meets each one's script, as a real image meets each condition."""

    runs: Mapping[str, TrainResult] = field(default_factory=dict)

    def train(self, spec: TrainSpec, sigterm_after: float | None, input_dir: Path) -> TrainResult:
        if spec.name in self.runs:
            return self.runs[spec.name]
        scripted = [self.runs[name] for name in spec.name.split("+") if name in self.runs]
        if scripted:
            return replace(scripted[0], spec=spec.name)
        return super().train(spec, sigterm_after, input_dir)


def in_both_forms(result: TrainResult) -> dict[str, TrainResult]:
    """The same run with the full config files and with local mode's minimal ones: training itself is broken."""
    return {"default": result, "minimal-config": replace(result, spec="train-minimal-config")}


@dataclass
class ReadsHyperparameters(GoodImage):
    """Reads hyperparameters.json as the container would; ``refuse`` says which ones it cannot train with."""

    refuse: Callable[[dict[str, str]], bool] = lambda hyperparameters: False
    seen: list[dict[str, str]] = field(default_factory=list)

    def train(self, spec: TrainSpec, sigterm_after: float | None, input_dir: Path) -> TrainResult:
        hyperparameters = json.loads((input_dir / "config" / contract.HYPERPARAMETERS_FILE).read_text())
        self.seen.append(hyperparameters)
        if self.refuse(hyperparameters):
            return failed(spec.name, failure=f"KeyError: cannot train with {sorted(hyperparameters)}")
        return super().train(spec, sigterm_after, input_dir)


@dataclass
class LoopbackOnly(GoodImage):
    """Binds 127.0.0.1:8080: nothing answers through the published port."""

    def serve(self, spec: ServeSpec) -> FakeServer:
        return FakeServer(self, spec, ready=False, answered=False)

    def listening_sockets(self, server: FakeServer) -> list[str] | None:
        return procs.listening_sockets(PROC_NET_TCP_LOOPBACK)


@dataclass
class SlowPing(GoodImage):
    def ping(self, server: FakeServer) -> Response:
        return Response(200, b"", None, elapsed=2.4)


@dataclass
class WritesIntoModelDir(GoodImage):
    def serve(self, spec: ServeSpec) -> FakeServer:
        return FakeServer(
            self,
            spec,
            ready=False,
            exited=True,
            exit_code=1,
            logs="OSError: [Errno 30] Read-only file system: '/opt/ml/model/cache'\n",
        )


@dataclass
class DropsLastRecord(GoodImage):
    """Loses the last record of any body with more than ``keep`` records."""

    keep: int = 1

    def predict(self, table: list[list[float]]) -> bytes:
        return super().predict(table[: self.keep] if len(table) > self.keep else table)


@dataclass
class StrictMediaType(GoodImage):
    """Compares the whole Content-Type header with text/csv."""

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        if headers.get("content-type") != contract.CSV:
            return Response(415, b"unsupported", "text/plain")
        return super().invoke(server, body, headers)


@dataclass
class AnswersUnsupported(GoodImage):
    """Answers any Content-Type it does not know with ``status``."""

    status: int = 200

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        if headers.get("content-type", "").split(";")[0] != contract.CSV:
            if self.status == 200:
                return super().invoke(server, body, {"content-type": contract.CSV})
            return Response(self.status, b"Traceback (most recent call last): ...", "text/html")
        return super().invoke(server, body, headers)


@dataclass
class CrashesOnBadInput(GoodImage):
    """A 500 for anything it cannot parse (an unhandled ValueError)."""

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        response = super().invoke(server, body, headers)
        return Response(500, b"Internal Server Error", "text/html") if response.status == 400 else response


@dataclass
class DiesOnBadInput(GoodImage):
    """The worker dies on the first bad request, and with it the container."""

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        response = super().invoke(server, body, headers)
        if response.status >= 400:
            server.alive = False
            server._exit_code = 139
        return response


@dataclass
class OneMegabyteLimit(GoodImage):
    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        if len(body) > 1024 * 1024:
            return Response(413, b"<html>413 Request Entity Too Large</html>", "text/html")
        return super().invoke(server, body, headers)


@dataclass
class ChokesOnCustomAttributes(GoodImage):
    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        if len(headers.get("x-amzn-sagemaker-custom-attributes", "")) > 512:
            return Response(400, b"header too long", "text/plain")
        return super().invoke(server, body, headers)


@dataclass
class IgnoresSigterm(GoodImage):
    def serve(self, spec: ServeSpec) -> FakeServer:
        server = super().serve(spec)
        server._stop = StopResult(contract.SERVE_STOP_GRACE_S, 30.3, 137, True)
        return server


@dataclass
class HealthyWithoutModel(GoodImage):
    def serve(self, spec: ServeSpec) -> FakeServer:
        return super().serve(replace(spec, model="trained"))


@dataclass
class PingBlockedByInvocations(GoodImage):
    """A single-threaded server: /ping waits behind the invocations in flight."""

    def ping(self, server: FakeServer) -> Response:
        return Response(200, b"", None, elapsed=2.5 if server.in_flight else 0.001)

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        time.sleep(0.02)
        return super().invoke(server, body, headers)


@dataclass
class NeedsEgress(GoodImage):
    def serve(self, spec: ServeSpec) -> FakeServer:
        if spec.isolated:
            return FakeServer(
                self, spec, ready=False, exited=True, exit_code=1, logs="ConnectionError: huggingface.co\n"
            )
        return super().serve(spec)


@dataclass
class Nondeterministic(GoodImage):
    def predict(self, table: list[list[float]]) -> bytes:
        return "".join(f"{random.random():.6f}\n" for _ in table).encode()
