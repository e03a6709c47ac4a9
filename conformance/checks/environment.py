"""ENV: the server's environment variables, observed in the running container's process table."""

from __future__ import annotations

import json
from collections.abc import Iterator

from conformance import contract, payloads, procs
from conformance.checks.serving import accepted, exchange_violation, invoke
from conformance.containers import ServingContainer
from conformance.context import SERVE_DEFAULT, CheckContext, ServeSpec, wait_for
from conformance.failures import CheckSkipped, Violation
from conformance.registry import Level, check

SETTLE_TIMEOUT_S = 20.0
"""How long workers may take to settle (boot, or respawn) after /ping first answers 200."""


def _env_spec(ctx: CheckContext) -> ServeSpec:
    """The container ENV-1 and ENV-3 observe: both declared variables set to telling values."""
    env = {}
    if ctx.policy.workers_env:
        env[ctx.policy.workers_env] = str(contract.ENV_WORKERS_PROBE)
    if ctx.policy.timeout_env:
        env[ctx.policy.timeout_env] = str(contract.ENV_TIMEOUT_PROBE_S)
    return ServeSpec("env", env=env)


def _process_table(table: list[procs.Process]) -> tuple[tuple[str, str], ...]:
    return (("Process table", procs.render_table(table)),)


def settled_workers(server: ServingContainer) -> tuple[procs.WorkerCount, list[procs.Process]]:
    """The worker count once three readings in a row agree (workers boot, or respawn, after /ping)."""
    readings: list[int] = []
    latest: list[tuple[procs.WorkerCount, list[procs.Process]]] = []

    def stable() -> bool:
        table = server.processes()
        count = procs.count_workers(table)
        latest[:] = [(count, table)]
        readings.append(count.count)
        return len(readings) >= 3 and len(set(readings[-3:])) == 1

    wait_for(stable, SETTLE_TIMEOUT_S, interval=0.5)
    return latest[0]


@check("ENV-1", Level.MUST, "MODEL_SERVER_WORKERS=N runs N model-server workers", source=contract.DG_INF)
def workers_variable_honoured(ctx: CheckContext) -> Iterator[Violation]:
    """`MODEL_SERVER_WORKERS=N` runs N model-server workers, counted in the container's process table after the
    workers settle. The policy may name another variable, or declare that the image has none.

    Why: AWS's bring-your-own samples size their worker pool with MODEL_SERVER_WORKERS, and users set it per
    instance type in the model's environment. An image that ignores it runs the wrong number of workers: one copy of
    a large model per CPU exhausts memory, one worker wastes a large instance.

    How: Starts the server with the declared variable set to 3 (neither 1 nor a likely CPU count) and counts the
    model server's workers in the container's process table once three readings in a row agree.
    """
    variable = ctx.policy.workers_env
    if not variable:
        raise CheckSkipped('the policy declares no worker-count variable ([env] workers = "")')
    server = ctx.server(_env_spec(ctx))
    count, table = settled_workers(server)
    ctx.measure("workers_observed", count.count)
    if count.count != contract.ENV_WORKERS_PROBE:
        yield Violation(
            f"{variable}={contract.ENV_WORKERS_PROBE} did not give {contract.ENV_WORKERS_PROBE} model-server workers",
            expected=f"{contract.ENV_WORKERS_PROBE} worker processes under the model server's master",
            actual=f"{count.count} (master: {count.master.args if count.master else 'none found'})",
            evidence=_process_table(table),
        )


@check("ENV-2", Level.SHOULD, "Without the variable, one worker per CPU the container sees", source=contract.DG_INF)
def default_workers_per_cpu(ctx: CheckContext) -> Iterator[Violation]:
    """Without `MODEL_SERVER_WORKERS`, the number of workers is the number of CPUs the container sees.

    Why: One worker per CPU, the samples' default, is what lets the same image use a larger instance; a fixed count
    wastes it or overloads a small one.

    How: Counts the workers of the default serving container in its process table and compares them with the CPUs
    the container sees (the engine's count and `nproc` inside it). Skipped when the policy declares no worker
    variable.
    """
    if not ctx.policy.workers_env:
        raise CheckSkipped("the policy declares no worker-count variable, so there is no default to check")
    server = ctx.server(SERVE_DEFAULT)
    count, table = settled_workers(server)
    cpus = {ctx.engine.cpus}
    code, output = server.execute(["nproc"])
    if code == 0 and output.strip().isdigit():
        cpus.add(int(output.strip()))
    if count.count not in cpus:
        yield Violation(
            "The default worker count is not the number of CPUs",
            expected=" or ".join(str(c) for c in sorted(cpus)) + " workers (the CPUs the container sees)",
            actual=str(count.count),
            evidence=_process_table(table),
        )


@check(
    "ENV-3",
    Level.MUST,
    "MODEL_SERVER_TIMEOUT=T sets the request timeout, and no proxy cuts in first",
    source=contract.DG_INF,
)
def timeout_variable_honoured(ctx: CheckContext) -> Iterator[Violation]:
    """`MODEL_SERVER_TIMEOUT=T` sets the model server's request timeout to T: the server's own configuration in
    its process table, and a front proxy (nginx) that does not cut requests off before T.

    Why: InvokeEndpoint allows a container 60 s and batch transform up to InvocationsTimeoutInSeconds (600 s by
    default). A model-server or proxy timeout shorter than the one asked for cuts slow but valid requests off:
    gunicorn kills its worker at 30 s by default, nginx's proxy_read_timeout is 60 s.

    How: Starts the server with the declared variable set to 97 s and reads the model server's --timeout from its
    command line in the process table and nginx's read timeout for /invocations from its configuration (`nginx -T`);
    neither may be shorter. Skipped when neither can be observed.
    """
    variable = ctx.policy.timeout_env
    if not variable:
        raise CheckSkipped('the policy declares no timeout variable ([env] timeout = "")')
    wanted = float(contract.ENV_TIMEOUT_PROBE_S)
    server = ctx.server(_env_spec(ctx))
    table = server.processes()
    master = procs.count_workers(table).master
    observed = procs.server_timeout(master) if master else None
    evidence = _process_table(table)
    checked = False
    if master is not None and observed is not None:
        checked = True
        if observed != wanted:
            yield Violation(
                f"{variable}={wanted:g} did not set the model server's timeout",
                expected=f"--timeout {wanted:g} on the model server's command line",
                actual=f"--timeout {observed:g}",
                evidence=evidence,
            )
    nginx = procs.nginx_master(table)
    if nginx is not None:
        path = procs.nginx_config_path(nginx)
        code, config = server.execute(["nginx", "-T", "-c", path])
        if code != 0:
            config = (server.read_file(path) or b"").decode("utf-8", "replace")
        if config:
            checked = True
            seconds, where = procs.nginx_read_timeout(config, contract.INVOCATIONS_PATH)
            ctx.measure("nginx_read_timeout_seconds", seconds)
            if seconds < wanted:
                yield Violation(
                    f"nginx would cut /invocations off after {seconds:g} s, before the model server's {wanted:g} s",
                    expected=f"proxy_read_timeout >= {wanted:g} s for {contract.INVOCATIONS_PATH}",
                    actual=f"{seconds:g} s ({where} of {path})",
                    evidence=(
                        ("Hint", "Render nginx's proxy_read_timeout from the same variable as the server's timeout."),
                    ),
                )
    if not checked:
        raise CheckSkipped(
            "no model-server timeout is visible in the process table (no --timeout on a known server's command line) "
            "and no nginx front proxy was found; ENV-3 cannot observe this image"
        )


@check(
    "ENV-4",
    Level.MUST,
    "Batch transform variables do not break serving; /execution-parameters is valid",
    source=contract.DG_BATCH,
)
def batch_variables_tolerated(ctx: CheckContext) -> Iterator[Violation]:
    """Batch transform variables (SAGEMAKER_BATCH, SAGEMAKER_MAX_PAYLOAD_IN_MB, SAGEMAKER_BATCH_STRATEGY,
    SAGEMAKER_MAX_CONCURRENT_TRANSFORMS) do not break start-up or invocations; `GET /execution-parameters`
    answers 404 or a valid JSON document.

    Why: Batch transform starts the same `serve` container with SAGEMAKER_BATCH, SAGEMAKER_MAX_PAYLOAD_IN_MB,
    SAGEMAKER_BATCH_STRATEGY and SAGEMAKER_MAX_CONCURRENT_TRANSFORMS set, and first asks GET /execution-parameters.
    An image that chokes on them, or answers that request with an invalid document, fails every transform job.

    How: Starts the server with the batch variables set, requires /ping 200 and a 200 for the test-dir's payload,
    then GETs /execution-parameters: a 404, or a JSON object with a positive MaxConcurrentTransforms, a
    BatchStrategy of MULTI_RECORD or SINGLE_RECORD and a MaxPayloadInMB from 0 to 100 (at most 100 in product).
    """
    server = ctx.server(ServeSpec("batch", env=contract.BATCH_ENV), ready=False)
    if not server.readiness.ready:
        yield Violation(
            "The server did not start with batch transform's variables set",
            expected="200 on /ping",
            actual=server.readiness.describe(),
        )
        return
    yield from accepted(invoke(ctx, server, ctx.test_dir.payload), "with batch transform's variables")
    answer = server.request("GET", contract.EXECUTION_PARAMETERS_PATH, timeout=10)
    if answer.status == 404:
        return
    problems = []
    if answer.status != 200:
        problems.append(f"status {answer.describe()}")
    else:
        try:
            document = json.loads(answer.body)
        except ValueError:
            document = None
        if not isinstance(document, dict):
            problems.append("the body is not a JSON object")
        else:
            concurrent = document.get("MaxConcurrentTransforms")
            strategy = document.get("BatchStrategy")
            size = document.get("MaxPayloadInMB")
            if not isinstance(concurrent, int) or concurrent < 1:
                problems.append(f"MaxConcurrentTransforms = {concurrent!r} (a positive integer)")
            if strategy not in contract.BATCH_STRATEGIES:
                problems.append(f"BatchStrategy = {strategy!r} (one of {sorted(contract.BATCH_STRATEGIES)})")
            if not isinstance(size, int) or not 0 <= size <= contract.MAX_PAYLOAD_IN_MB_LIMIT:
                problems.append(f"MaxPayloadInMB = {size!r} (an integer from 0 to 100)")
            elif isinstance(concurrent, int) and concurrent * size > contract.MAX_PAYLOAD_IN_MB_LIMIT:
                problems.append(f"MaxConcurrentTransforms x MaxPayloadInMB = {concurrent * size} (at most 100)")
    if problems:
        yield Violation(
            "GET /execution-parameters answered, but not with a valid document",
            expected='404, or 200 {"MaxConcurrentTransforms": int, "BatchStrategy": "MULTI_RECORD"|"SINGLE_RECORD", '
            '"MaxPayloadInMB": 0-100}',
            actual="; ".join(problems),
            evidence=answer.evidence(),
            reproduce=(answer.curl(contract.PORT),),
        )


@check(
    "ENV-5",
    Level.CONDITIONAL,
    "SAGEMAKER_BIND_TO_PORT moves the listener (accept-bind-to-port images)",
    source=contract.DG_PIPE,
)
def bind_to_port(ctx: CheckContext) -> Iterator[Violation]:
    """If the image carries `com.amazonaws.sagemaker.capabilities.accept-bind-to-port=true`,
    `SAGEMAKER_BIND_TO_PORT` moves the listener (inference pipelines, multi-container endpoints).

    Why: In inference pipelines and multi-container endpoints SageMaker tells each container which port to listen on
    with SAGEMAKER_BIND_TO_PORT, for images that claim the capability with the label. An image that claims it and
    still listens on 8080 collides with its neighbours.

    How: Skipped unless the image carries the label; then starts the server with SAGEMAKER_BIND_TO_PORT=9090 and
    SAGEMAKER_SAFE_PORT_RANGE=9091-9099 and requires /ping and /invocations to answer on 9090.
    """
    if ctx.image.labels.get(contract.BIND_TO_PORT_LABEL, "").lower() != "true":
        raise CheckSkipped(f"the image does not claim the capability (label {contract.BIND_TO_PORT_LABEL}=true)")
    port = contract.BIND_TO_PORT_PROBE
    env = {contract.BIND_TO_PORT_ENV: str(port), contract.SAFE_PORT_RANGE_ENV: contract.SAFE_PORT_RANGE_PROBE}
    server = ctx.server(ServeSpec("bind-to-port", env=env, port=port), ready=False)
    if not server.readiness.ready:
        yield Violation(
            f"{contract.BIND_TO_PORT_ENV}={port} did not move the listener, though the image claims it does",
            expected=f"200 on /ping at port {port}",
            actual=server.readiness.describe(),
        )
        return
    exchange = invoke(ctx, server, ctx.test_dir.payload)
    if exchange.status != 200 or len(payloads.output_records(exchange, ctx.policy.accept) or []) == 0:
        yield exchange_violation(exchange, f"/invocations failed on port {port}", expected="200", port=port)
