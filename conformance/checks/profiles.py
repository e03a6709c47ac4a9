"""Deployment profiles: how SageMaker runs the same `serve` container in places other than a one-container endpoint.

ENV-6: inference pipelines and multi-container endpoints, where containers of one endpoint sit side by side and
each keeps to the port and the port range SageMaker gives it. ENV-7: multi-model endpoints, where SageMaker loads,
invokes and unloads models through the /models API. ENV-8: serverless endpoints, with little memory and
4 MB payloads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from conformance import contract
from conformance.context import SERVE_BIND_TO_PORT, CheckContext, ServeSpec
from conformance.failures import CheckSkipped, DependencyFailed, Violation
from conformance.http import Exchange
from conformance.invoking import invoke, response_records, sized_payload
from conformance.registry import Level, check


def port_range(text: str) -> range:
    """``"XXXX-YYYY"`` (inclusive, as SAGEMAKER_SAFE_PORT_RANGE gives it) as a range."""
    low, _, high = text.partition("-")
    return range(int(low), int(high) + 1)


def pipeline_specs() -> tuple[ServeSpec, ServeSpec]:
    """The two copies ENV-6 runs: the first is ENV-5's server, which publishes both ports; the second joins its
    network namespace."""
    first, second_port, second_range = (
        SERVE_BIND_TO_PORT,
        contract.PIPELINE_PORTS[1],
        contract.PIPELINE_SAFE_PORT_RANGES[1],
    )
    second = ServeSpec(
        "pipeline-second",
        env={contract.BIND_TO_PORT_ENV: str(second_port), contract.SAFE_PORT_RANGE_ENV: second_range},
        port=second_port,
        network_of=first.name,
    )
    return first, second


def stray_listeners(sockets: list[str], allowed: set[int]) -> list[str]:
    """The listening sockets (``address:port``) on a port outside ``allowed``; Docker's own DNS resolver excepted."""
    stray = []
    for socket in sockets:
        address, _, port = socket.rpartition(":")
        if address == contract.DOCKER_EMBEDDED_DNS:
            continue  # the engine opens it on user-defined networks, not the image
        if int(port) not in allowed:
            stray.append(socket)
    return stray


@check(
    "ENV-6",
    Level.CONDITIONAL,
    "Two copies share one network namespace, each on its own port and range (accept-bind-to-port images)",
    source=contract.DG_PIPE,
    apart=True,
    needs=("ENV-5",),
)
def pipeline_neighbours(ctx: CheckContext) -> Iterator[Violation]:
    """If the image carries `com.amazonaws.sagemaker.capabilities.accept-bind-to-port=true`, two copies of it in one
    network namespace, each given its own `SAGEMAKER_BIND_TO_PORT` and `SAGEMAKER_SAFE_PORT_RANGE`, both answer on
    their ports, and nothing in them listens on a port outside those ports and ranges.

    Why: The containers of an inference pipeline or a multi-container endpoint run side by side on one instance:
    SageMaker gives each its port in SAGEMAKER_BIND_TO_PORT and, for any second listener it needs, a range in
    SAGEMAKER_SAFE_PORT_RANGE. A container that also listens on a fixed port (a model server behind its proxy on
    127.0.0.1:8000, a metrics endpoint) collides with its neighbour, or with a second copy of itself, and one of
    them fails to start.

    How: Skipped unless the image carries the label. The first copy is ENV-5's server (SAGEMAKER_BIND_TO_PORT=9090
    and SAGEMAKER_SAFE_PORT_RANGE=9091-9099, started once for both clauses); then starts a second in the first's
    network namespace (`docker run --network container:FIRST`) with 9190 and 9191-9199; requires /ping and the
    test-dir's payload to answer on both ports, the first still to answer after the second started, and every
    listening TCP socket in the shared namespace (/proc/net/tcp and tcp6) to be on one of the two ports or in one of
    the two ranges.
    """
    if ctx.image.labels.get(contract.BIND_TO_PORT_LABEL, "").lower() != "true":
        raise CheckSkipped(f"the image does not claim the capability (label {contract.BIND_TO_PORT_LABEL}=true)")
    first_spec, second_spec = pipeline_specs()
    first = ctx.server(first_spec, ready=False)
    if not first.readiness.ready:
        # One copy alone on its port is ENV-5's observation: that failure is reported there.
        raise DependencyFailed("ENV-5", f"one copy alone on port {first_spec.port}: {first.readiness.describe()}")
    second = ctx.server(second_spec, ready=False)
    allowed = set(contract.PIPELINE_PORTS)
    for text in contract.PIPELINE_SAFE_PORT_RANGES:
        allowed.update(port_range(text))
    found = first.listening_sockets()
    sockets = found or []
    listing = "(could not read /proc/net/tcp)" if found is None else "\n".join(sockets) or "(none)"
    evidence = (("Listening sockets in the shared network namespace", listing),)
    if not second.readiness.ready:
        yield Violation(
            f"A second copy beside the first did not answer on its port {second_spec.port}",
            expected=f"200 on /ping at port {second_spec.port} ({contract.BIND_TO_PORT_ENV}={second_spec.port}) "
            f"while the first copy serves on {first_spec.port}",
            actual=second.readiness.describe(),
            evidence=evidence,
        )
    for spec, server in ((first_spec, first), (second_spec, second)):
        if not server.readiness.ready:
            continue
        if not server.healthy():
            yield Violation(
                f"The copy on port {spec.port} stopped answering /ping once its neighbour started",
                expected=f"200 on /ping at port {spec.port}",
                actual=server.request("GET", contract.PING_PATH, timeout=5).describe(),
                evidence=evidence,
            )
            continue
        exchange = invoke(ctx, server, ctx.test_dir.payload, name="pipeline")
        if exchange.status != 200 or not response_records(ctx, exchange):
            yield Violation(
                f"/invocations failed on port {spec.port} with a neighbour in the same network namespace",
                expected="200 with the predictions",
                actual=exchange.describe(),
                evidence=exchange.evidence(),
                reproduce=(exchange.curl(spec.port),),
            )
    stray = stray_listeners(sockets, allowed)
    if stray:
        ports = ", ".join(str(p) for p in contract.PIPELINE_PORTS)
        ranges = " and ".join(contract.PIPELINE_SAFE_PORT_RANGES)
        yield Violation(
            f"A copy listens on a port outside its {contract.BIND_TO_PORT_ENV} and {contract.SAFE_PORT_RANGE_ENV}",
            expected=f"listeners only on {ports} ({contract.BIND_TO_PORT_ENV}) or in {ranges} "
            f"({contract.SAFE_PORT_RANGE_ENV})",
            actual=", ".join(stray),
            evidence=(
                *evidence,
                ("Hint", "Put every second listener on a port from SAGEMAKER_SAFE_PORT_RANGE, or on a unix socket."),
            ),
        )


SERVE_MULTI_MODEL = ServeSpec("multi-model", env={contract.MULTI_MODEL_ENV: "true"}, model="multi")
"""A multi-model endpoint's container: SAGEMAKER_MULTI_MODEL=true, no single model, two models under MODELS_DIR."""


def listed_models(body: bytes) -> dict[str, str] | None:
    """``{modelName: modelUrl}`` of a List Models answer, or None when it is not ``{"models": [{...}, ...]}``."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    models = document.get("models") if isinstance(document, dict) else None
    if not isinstance(models, list) or not all(isinstance(m, dict) for m in models):
        return None
    return {str(m.get("modelName")): str(m.get("modelUrl")) for m in models}


@check(
    "ENV-7",
    Level.CONDITIONAL,
    "The /models API loads, lists, invokes and unloads models (multi-models images)",
    source=contract.DG_MME,
    apart=True,
)
def multi_model_api(ctx: CheckContext) -> Iterator[Violation]:
    """If the image carries `com.amazonaws.sagemaker.capabilities.multi-models=true`, its server started with
    `SAGEMAKER_MULTI_MODEL=true` and no model at /opt/ml/model answers /ping, and the /models API works: `POST
    /models` loads a model from the `url` given under the `model_name` given (409 when that name is loaded),
    `GET /models` lists the loaded ones with `modelName` and `modelUrl`, `POST /models/{name}/invoke` predicts
    with that model, `DELETE /models/{name}` unloads it; an unknown or unloaded name gets 404.

    Why: A multi-model endpoint downloads each model to its own folder under /opt/ml/models and drives the container
    through this API, loading and unloading models as traffic and memory require; the label is how the image
    claims it. A container that claims it and answers anything else fails every invocation of the endpoint, and one
    that never answers 409 or 404 leaves SageMaker unable to tell a loaded model from a missing one.

    How: Skipped unless the image carries the label. Starts the server with SAGEMAKER_MULTI_MODEL=true, an empty
    /opt/ml/model and the served model copied (not mounted) to two folders under /opt/ml/models; loads both under
    names unlike their folders, loads one again (409), lists them, invokes each with the test-dir's payload, unloads
    one, then requires 404 for invoking and unloading it again and for invoking a name never loaded.
    """
    if ctx.image.labels.get(contract.MULTI_MODEL_LABEL, "").lower() != "true":
        raise CheckSkipped(f"the image does not claim the capability (label {contract.MULTI_MODEL_LABEL}=true)")
    server = ctx.server(SERVE_MULTI_MODEL, ready=False)
    if not server.readiness.ready:
        yield Violation(
            f"The server did not start as a multi-model endpoint's container ({contract.MULTI_MODEL_ENV}=true, no "
            f"model at {contract.MODEL_DIR})",
            expected="200 on /ping before any model is loaded",
            actual=server.readiness.describe(),
        )
        return
    json_headers = {"Content-Type": "application/json", "Accept": "application/json"}
    urls = {name: f"{contract.MODELS_DIR}/{folder}/model" for name, folder in contract.MULTI_MODEL_PROBES}

    def call(method: str, path: str, data: bytes = b"", headers: dict[str, str] | None = None) -> Exchange:
        return server.request(method, path, body=data, headers=headers, timeout=contract.INVOCATION_LIMIT_S)

    def invoke_model(name: str) -> Exchange:
        path = f"{contract.MODELS_PATH}/{name}/invoke"
        headers = {contract.TARGET_MODEL_HEADER: f"{name}.tar.gz"}
        return invoke(ctx, server, ctx.test_dir.payload, headers=headers, name="multi-model", path=path)

    def wrong(summary: str, expected: str, exchange: Exchange) -> Violation:
        return Violation(
            summary,
            expected=expected,
            actual=exchange.describe(),
            evidence=exchange.evidence(),
            reproduce=(exchange.curl(contract.PORT),),
        )

    unknown = invoke_model("smc-never-loaded")
    if unknown.status != 404:
        yield wrong("Invoking a model that was never loaded did not answer 404", "404", unknown)
    loaded = []
    for name, url in urls.items():
        answer = call("POST", contract.MODELS_PATH, json.dumps({"model_name": name, "url": url}).encode(), json_headers)
        if answer.status == 200:
            loaded.append(name)
        else:
            yield wrong(f"Loading {url} as {name!r} failed", "200", answer)
    if not loaded:
        return
    first = loaded[0]
    again = call(
        "POST", contract.MODELS_PATH, json.dumps({"model_name": first, "url": urls[first]}).encode(), json_headers
    )
    if again.status != 409:
        yield wrong(f"Loading {first!r} a second time did not answer 409", "409 (the name is already loaded)", again)
    listing = call("GET", contract.MODELS_PATH, headers={"Accept": "application/json"})
    listed = listed_models(listing.body) if listing.status == 200 else None
    wanted = {name: urls[name] for name in loaded}
    if listed is None or any(listed.get(name) != url for name, url in wanted.items()):
        yield wrong(
            "GET /models did not list the loaded models",
            '200 {"models": [{"modelName": ..., "modelUrl": ...}, ...]} with '
            + ", ".join(f"{name} at {url}" for name, url in wanted.items()),
            listing,
        )
    for name in loaded:
        exchange = invoke_model(name)
        if exchange.status != 200 or not response_records(ctx, exchange):
            yield wrong(f"Invoking the loaded model {name!r} failed", "200 with the predictions", exchange)
    unload = call("DELETE", f"{contract.MODELS_PATH}/{first}")
    if unload.status != 200:
        yield wrong(f"Unloading {first!r} failed", "200", unload)
        return
    for summary, exchange in (
        (f"Invoking {first!r} after it was unloaded did not answer 404", invoke_model(first)),
        (f"Unloading {first!r} a second time did not answer 404", call("DELETE", f"{contract.MODELS_PATH}/{first}")),
    ):
        if exchange.status != 404:
            yield wrong(summary, "404 (the model is not loaded)", exchange)


def serverless_spec(memory_mb: int) -> ServeSpec:
    """The container ENV-8 starts: the policy's memory size (no swap) and one CPU, as a serverless endpoint runs it."""
    return ServeSpec(f"serverless-{memory_mb}", memory_mb=memory_mb, cpus=contract.SERVERLESS_CPUS)


def oom_kills(text: str) -> int | None:
    """The ``oom_kill N`` count of a cgroup's memory.events (v2) or memory.oom_control (v1); None when absent."""
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == "oom_kill" and value.strip().isdigit():
            return int(value)
    return None


@check(
    "ENV-8",
    Level.CONDITIONAL,
    "Serverless: a 4 MB request within the declared memory and one CPU, no out-of-memory kill",
    source=contract.DG_SERVERLESS,
    apart=True,
)
def serverless_profile(ctx: CheckContext) -> Iterator[Violation]:
    """If the policy declares a serverless deployment (`[serverless] memory_mb`), the server started with that much
    memory, no swap and one CPU becomes healthy and answers a request of almost 4 MB with 200, a response of at
    most 4 MB, and without the kernel killing anything in it for memory.

    Why: A serverless endpoint runs the container in the memory size chosen (1024 to 6144 MB, 2048 by default) and
    caps both request and response at 4 MB. An image that fits on an instance, where memory is plentiful, can be
    killed for memory there: a worker killed mid-request returns a 5xx, and a container killed at start never
    becomes healthy.

    How: Skipped unless the policy has `[serverless] memory_mb`. Starts `docker run --memory M --memory-swap M
    --cpus 1 IMAGE serve`, sends the test-dir's records repeated to just under 4 MB (4,000,000 bytes), and reads
    the response's size, the engine's State.OOMKilled and the kernel's oom_kill count in the container's cgroup
    (memory.events).
    """
    memory_mb = ctx.policy.serverless_memory_mb
    if memory_mb is None:
        raise CheckSkipped(
            "the image does not claim the capability: its policy declares no serverless deployment "
            "([serverless] memory_mb)"
        )
    spec = serverless_spec(memory_mb)
    server = ctx.server(spec, ready=False)
    limits = f"{memory_mb} MB of memory, no swap, {contract.SERVERLESS_CPUS:g} CPU"
    if not server.readiness.ready:
        killed = server.oom_killed()
        yield Violation(
            f"The server did not start within {limits}" + (": the kernel killed it for memory" if killed else ""),
            expected="200 on /ping",
            actual=server.readiness.describe() + (" (State.OOMKilled = true)" if killed else ""),
        )
        return
    body = sized_payload(ctx, contract.SERVERLESS_PAYLOAD_BYTES)
    exchange = invoke(ctx, server, body, name="serverless")
    ctx.measure("serverless_response_bytes", len(exchange.body))
    events = server.memory_events()
    kills = oom_kills(events) if events is not None else None
    killed = server.oom_killed()
    memory = (("Memory events of the container's cgroup", events.strip() or "(empty)"),) if events is not None else ()
    if killed or kills:
        yield Violation(
            f"The kernel killed a process of the server for memory under {limits}",
            expected=f"no out-of-memory kill while answering a {len(body):,}-byte request",
            actual=f"oom_kill = {kills}" if kills else "State.OOMKilled = true",
            evidence=memory + exchange.evidence(),
            reproduce=(exchange.curl(spec.port),),
        )
    if exchange.status != 200 or not response_records(ctx, exchange):
        yield Violation(
            f"A {len(body):,}-byte request failed under {limits}",
            expected="200 with the predictions",
            actual=exchange.describe(),
            evidence=exchange.evidence(),
            reproduce=(exchange.curl(spec.port),),
        )
    elif len(exchange.body) > contract.SERVERLESS_MAX_PAYLOAD_BYTES:
        yield Violation(
            "The response is larger than a serverless endpoint returns",
            expected=f"at most {contract.SERVERLESS_MAX_PAYLOAD_BYTES:,} bytes",
            actual=f"{len(exchange.body):,} bytes for a {len(body):,}-byte request",
            evidence=exchange.evidence(),
            reproduce=(exchange.curl(spec.port),),
        )


SERVE_NON_ROOT = ServeSpec(
    "serverless-non-root",
    user=contract.SERVERLESS_USER,
    read_only=True,
    tmpfs={contract.SERVERLESS_WRITABLE_DIR: contract.SERVERLESS_TMPFS_OPTIONS},
)
"""The container ENV-9 starts: a uid that owns nothing, a read-only root file system, a fresh writable /tmp."""

_REFUSED = re.compile(r"read-only file system|\bEROFS\b|Errno 30\b|permission denied|\bEACCES\b|Errno 13\b", re.I)
_PATH = re.compile(r"(?<![\w.])/[\w.@+-]+(?:/[\w.@+-]*)*")


def refused_writes(logs: str, limit: int = 10) -> list[tuple[str, str]]:
    """``(line, path)`` for each distinct log line where the file system refused an access (a read-only file system,
    EROFS, permission denied, EACCES); ``path`` is the last absolute path the line names ("" when none)."""
    found: list[tuple[str, str]] = []
    for raw in logs.splitlines():
        line = raw.strip()
        if not _REFUSED.search(line) or any(line == seen for seen, _ in found):
            continue
        paths = _PATH.findall(line)
        found.append((line, paths[-1].rstrip(".") if paths else ""))
        if len(found) == limit:
            break
    return found


def _refused_evidence(logs: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """What the summary adds about refused writes (", refused: PATH"), and the evidence listing their log lines."""
    refused = refused_writes(logs)
    if not refused:
        return "", ()
    paths = list(dict.fromkeys(path for _, path in refused if path))
    summary = f"; refused: {', '.join(paths[:3])}" if paths else ""
    return summary, (("Refused file system accesses in the logs", "\n".join(line for line, _ in refused)),)


@check(
    "ENV-9",
    Level.CONDITIONAL,
    "Serverless: serves as a non-root uid on a read-only file system, writing only to /tmp",
    source=contract.DG_SERVERLESS_TROUBLESHOOT,
    apart=True,
)
def serverless_non_root(ctx: CheckContext) -> Iterator[Violation]:
    """If the policy declares a serverless deployment (`[serverless] memory_mb`), the server started as a uid that
    owns none of the image's files, on a read-only root file system where only a fresh /tmp is writable, becomes
    healthy and answers the test-dir's payload with 200 and predictions.

    Why: AWS's serverless troubleshooting page says that a container that worked on an instance-based endpoint may
    lack the permissions to write files on a serverless one, so that the endpoint fails its ping health check, and
    suggests `chmod o+rwX` on what the container writes: there it does not run with root's rights. That much is
    documented. That nothing but /tmp is writable is this harness's robustness rule: AWS publishes neither the uid
    nor where the endpoint's ephemeral storage is mounted; serverless inference is integrated with AWS Lambda
    (AWS's serverless page), which runs container images on a read-only file system with a writable /tmp (Lambda's
    container-image page; not stated for SageMaker); and an image that writes elsewhere works only while the
    unknown uid happens to have the rights: an image that works only as root on a writable file system is fragile
    there. The level is CONDITIONAL, as for ENV-8: judged only for an image whose policy claims a serverless
    deployment, and then failing like a MUST, because the documented failure (a server that cannot write where it
    wants never answers its ping health check) leaves the endpoint unusable; a directory made writable for everyone
    as AWS suggests does not pass here, and moving that write under /tmp (or a variable pointing there) does. The
    real-time rule that the image runs as root (IMG-4) does not apply to such an image.

    How: Skipped unless the policy has `[serverless] memory_mb`. Starts `docker run --user 65534:65534 --read-only
    --tmpfs /tmp:rw,exec,nosuid,nodev,mode=1777 IMAGE serve` with the model mounted read-only at /opt/ml/model (no
    memory limit: that is ENV-8), requires 200 on /ping within the start-up budget and 200 with predictions for
    the test-dir's payload; a failure quotes the log lines where the file system refused an access (read-only file
    system, permission denied) and the paths they name.
    """
    if ctx.policy.serverless_memory_mb is None:
        raise CheckSkipped(
            "the image does not claim the capability: its policy declares no serverless deployment "
            "([serverless] memory_mb)"
        )
    spec = SERVE_NON_ROOT
    server = ctx.server(spec, ready=False)
    how = (
        f"as uid:gid {contract.SERVERLESS_USER} (not the image's USER {ctx.image.user or 'root'!r}), on a read-only "
        f"root file system with only {contract.SERVERLESS_WRITABLE_DIR} writable"
    )
    ctx.note(f"served {how}")
    if not server.readiness.ready:
        refused, evidence = _refused_evidence(server.logs())
        yield Violation(
            f"The server did not start {how}" + (": the file system refused an access" if refused else ""),
            expected=f"200 on {contract.PING_PATH}",
            actual=server.readiness.describe() + refused,
            evidence=evidence,
        )
        return
    exchange = invoke(ctx, server, ctx.test_dir.payload, name="serverless-non-root")
    if exchange.status != 200 or not response_records(ctx, exchange):
        refused, evidence = _refused_evidence(server.logs())
        yield Violation(
            f"An invocation failed {how}" + (": the file system refused an access" if refused else ""),
            expected="200 with the predictions",
            actual=exchange.describe() + refused,
            evidence=evidence + exchange.evidence(),
            reproduce=(exchange.curl(spec.port),),
        )
