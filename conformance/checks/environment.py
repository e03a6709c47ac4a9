"""ENV: the server's environment variables, observed in the running container (process table, behaviour)."""

from __future__ import annotations

import json
from collections.abc import Iterator

from conformance import contract
from conformance.context import SERVE_BIND_TO_PORT, SERVE_DEFAULT, CheckContext, ServeSpec
from conformance.failures import CheckSkipped, Violation
from conformance.invoking import accepted, exchange_violation, invoke, response_records
from conformance.registry import Level, check
from conformance.variables import (
    env_spec,
    judged_variables,
    note_judged,
    process_table_evidence,
    settled_workers,
)

SERVE_BATCH_VARIABLES = ServeSpec("batch", env=contract.BATCH_ENV)
"""The server as batch transform starts it (the same container as SRV-16's MultiRecord transform)."""


@check("ENV-1", Level.MUST, "MODEL_SERVER_WORKERS=N runs N model-server workers", source=contract.DG_INF, apart=True)
def workers_variable_honoured(ctx: CheckContext) -> Iterator[Violation]:
    """`MODEL_SERVER_WORKERS=N` runs N model-server workers: the processes that run the model, counted in the
    container's process table once they settle (gunicorn's and uvicorn's workers, Multi Model Server's and
    TorchServe's Python backends, the server itself when it runs alone). The variable is the one the policy
    names (or none); when the policy names none, a recognised stack's own (the SageMaker Inference Toolkit's
    `SAGEMAKER_MODEL_SERVER_WORKERS`, MLflow's `MLFLOW_MODELS_WORKERS`), else `MODEL_SERVER_WORKERS`; the
    report says which variable was judged and why.

    Counting (``procs.count_workers``): gunicorn (sync, gthread, gevent, uvicorn worker class) and uvicorn
    ``--workers``: the master's children, without multiprocessing's resource tracker. MMS and TorchServe: the
    ``model_service_worker`` backends under the Java frontend that fork no backend themselves, that is MMS's
    forked per-connection children (not their listener) and TorchServe's one backend per worker. waitress,
    uvicorn without ``--workers``: one. Unknown servers: the children running their parent's command line.
    Earlier the harness counted a single-process server as 0 workers, found MMS's workers only through the
    same-command-line fallback and TorchServe's not at all, and always judged `MODEL_SERVER_WORKERS` unless
    the policy named another variable.

    Why: AWS's bring-your-own samples size their worker pool with MODEL_SERVER_WORKERS (AWS's toolkits with their
    own variables), and users set it per instance type in the model's environment. An image that ignores it runs
    the wrong number of workers: one copy of a large model per CPU exhausts memory, one worker wastes a large
    instance.

    How: Starts the server with the judged variable set to 3 (neither 1 nor a likely CPU count) and counts the
    processes that run the model in the container's process table once three readings in a row agree.
    """
    variables = judged_variables(ctx)
    variable = variables.workers
    note_judged(ctx, "worker-count", variable, variables)
    if not variable:
        raise CheckSkipped('the policy declares no worker-count variable ([env] workers = "")')
    server = ctx.server(env_spec(variables))
    count, table = settled_workers(ctx.clock, server)
    ctx.measure("workers_observed", count.count)
    if count.count != contract.ENV_WORKERS_PROBE:
        yield Violation(
            f"{variable}={contract.ENV_WORKERS_PROBE} did not give {contract.ENV_WORKERS_PROBE} model-server workers",
            expected=f"{contract.ENV_WORKERS_PROBE} processes running the model ({variables.reason})",
            actual=f"{count.count} (master: {count.master.args if count.master else 'none found'}"
            + (f"; counted as {count.rule})" if count.rule else ")"),
            evidence=process_table_evidence(table),
        )


@check(
    "ENV-2",
    Level.SHOULD,
    "Without the variable, one worker per CPU the container sees",
    source=contract.DG_INF,
    replica=True,
)
def default_workers_per_cpu(ctx: CheckContext) -> Iterator[Violation]:
    """Without `MODEL_SERVER_WORKERS`, the number of workers is the number of CPUs the container sees.
    Workers are counted, and the variable chosen, as for ENV-1.

    Why: One worker per CPU, the samples' default, is what lets the same image use a larger instance; a fixed count
    wastes it or overloads a small one.

    How: Counts the workers of the default serving container in its process table and compares them with the CPUs
    the container sees (the engine's count and `nproc` inside it). Skipped when no worker variable is judged.
    """
    variables = judged_variables(ctx)
    note_judged(ctx, "worker-count", variables.workers, variables)
    if not variables.workers:
        raise CheckSkipped("the policy declares no worker-count variable, so there is no default to check")
    server = ctx.server(SERVE_DEFAULT)
    count, table = settled_workers(ctx.clock, server)
    cpus = {ctx.engine.cpus}
    inside = server.cpu_count()
    if inside is not None:
        cpus.add(inside)
    if count.count not in cpus:
        yield Violation(
            "The default worker count is not the number of CPUs",
            expected=" or ".join(str(c) for c in sorted(cpus)) + " workers (the CPUs the container sees)",
            actual=str(count.count),
            evidence=process_table_evidence(table),
        )


@check(
    "ENV-4",
    Level.MUST,
    "Batch transform variables do not break serving; /execution-parameters is valid",
    source=contract.DG_BATCH,
    uses=(SERVE_BATCH_VARIABLES,),
    apart=True,
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
    server = ctx.server(SERVE_BATCH_VARIABLES, ready=False)
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
    uses=(SERVE_BIND_TO_PORT,),
    apart=True,
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
    port = SERVE_BIND_TO_PORT.port
    server = ctx.server(SERVE_BIND_TO_PORT, ready=False)
    if not server.readiness.ready:
        yield Violation(
            f"{contract.BIND_TO_PORT_ENV}={port} did not move the listener, though the image claims it does",
            expected=f"200 on /ping at port {port}",
            actual=server.readiness.describe(),
        )
        return
    exchange = invoke(ctx, server, ctx.test_dir.payload)
    if exchange.status != 200 or len(response_records(ctx, exchange) or []) == 0:
        yield exchange_violation(exchange, f"/invocations failed on port {port}", expected="200", port=port)
