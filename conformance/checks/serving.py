"""SRV: `docker run IMAGE serve` with the model TRN-1 produced, mounted read-only: it starts, answers /ping, stops."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence

from conformance import contract
from conformance.context import SERVE_DEFAULT, SERVE_ISOLATED, SERVE_SIGTERM, CheckContext
from conformance.failures import DependencyFailed, NotJudged, Violation
from conformance.http import Exchange
from conformance.invoking import (
    accepted,
    exchange_violation,
    healthy_ping,
    invoke,
)
from conformance.limits import PING
from conformance.pid1 import StopResult
from conformance.registry import Level, check

PINGS = 20
"""Sequential pings SRV-2 times after start-up."""


@check("SRV-1", Level.MUST, "A server answers on 0.0.0.0:8080", source=contract.DG_INF)
def answers_on_8080(ctx: CheckContext) -> Iterator[Violation]:
    """A server answers on 0.0.0.0:8080: reachable through the published port, so not bound to 127.0.0.1 only.

    Why: SageMaker sends /ping and /invocations to port 8080 of the container from outside it. A server listening on
    127.0.0.1, or on another port, answers from inside the container and never to SageMaker, and the endpoint fails
    its health check.

    How: Starts `docker run IMAGE serve` with port 8080 published on a random host port and calls it from the host;
    when nothing answers, it reads /proc/net/tcp in the container to show where the server does listen.
    """
    server = ctx.server(SERVE_DEFAULT, ready=False)
    if server.readiness.answered:
        return
    sockets = "(the container is not running)"
    if server.running():
        found = server.listening_sockets()
        sockets = "(could not read /proc/net/tcp)" if found is None else "\n".join(found) or "(none)"
    yield Violation(
        "Nothing answered HTTP on port 8080 from outside the container",
        expected=f"an HTTP answer on 0.0.0.0:{contract.PORT} within {server.readiness.budget:g} s",
        actual=server.readiness.describe(),
        evidence=(("Listening sockets inside the container", sockets),),
        reproduce=("curl -i http://localhost:8080/ping",),
    )


@check(
    "SRV-2", Level.MUST, "GET /ping returns 200 within the start-up budget, each ping under 2 s", source=contract.DG_INF
)
def ping_healthy(ctx: CheckContext) -> Iterator[Violation]:
    """`GET /ping` returns 200 within the start-up budget (default 60 s; SageMaker's limit is 240 s), and every
    ping answers in under 2 s. The cold-start time is reported.

    Why: An endpoint whose container does not answer 200 on /ping within 4 minutes of starting fails to launch ("did
    not pass the ping health check"), and each /ping request times out after 2 s, so a slow ping takes an instance
    out of service.

    How: Polls GET /ping from the moment the container starts until a 200 or the end of the --startup-timeout budget
    (the cold-start time is measured), failing fast with the logs when the container exits; then sends 20 more
    pings, each of which must answer within 2 s. A ping that fails here ends the check, and every check that needs a
    healthy server is skipped naming SRV-2, rather than meeting the same slow ping again. A ping over 2 s that the
    server's waits for a CPU can explain (a busy host) is timed again with the other checks paused, else not judged;
    so is a start-up that ran out of its budget while its tasks waited a second or more for a CPU, or exited while the
    host was busy (its waits cannot be read then): the container is started again with the other checks paused.
    """
    server = ctx.server(SERVE_DEFAULT, ready=False)
    readiness = server.readiness
    if readiness.again:
        ctx.note(readiness.again)
    if readiness.unjudged:
        ctx.record_load(readiness.load)
        raise NotJudged(readiness.unjudged)
    if not readiness.ready:
        last = readiness.last
        if readiness.load is not None:
            ctx.record_load(readiness.load)  # a start-up budget run out: what the host was doing meanwhile
        yield Violation(
            "The container did not pass the ping health check",
            expected=f"200 on GET {contract.PING_PATH} within {readiness.budget:g} s",
            actual=readiness.describe(),
            evidence=(*(last.evidence() if last else ()), *ctx.load_evidence()),
            reproduce=("curl -i http://localhost:8080/ping",),
        )
        return
    assert readiness.seconds is not None
    ctx.measure("cold_start_seconds", readiness.seconds)

    def pings() -> list[Exchange]:
        sent = []
        for _ in range(PINGS):
            sent.append(server.request("GET", contract.PING_PATH, timeout=10))
            if not healthy_ping(sent[-1]):
                break
        return sent

    sent = ctx.timed(pings, _slowest_seconds, contract.PING_TIMEOUT_S, f"a ping of {PINGS}", server=server)
    ctx.measure("ping_max_seconds", _slowest_seconds(sent))
    violation = judge_pings(sent, ctx.load_evidence())
    if violation is not None:
        # What needs a healthy server skips, naming SRV-2, instead of meeting this ping again and again.
        ctx.breach(PING, violation)
        yield violation


def _slowest_seconds(pings: Sequence[Exchange]) -> float:
    return max((ping.elapsed for ping in pings), default=0.0)


def judge_pings(pings: Sequence[Exchange], load: tuple[tuple[str, str], ...] = ()) -> Violation | None:
    """SRV-2's verdict on the pings it sent after start-up, in order (the last is the first that failed, if one
    did): a violation for a ping that was not 200 in under 2 s. Fairness is judged before (CheckContext.timed)."""
    for number, exchange in enumerate(pings, 1):
        if not healthy_ping(exchange):
            violation = exchange_violation(
                exchange,
                f"Ping {number} of {PINGS} after start-up failed the health check",
                expected=f"200 in under {contract.PING_TIMEOUT_S:g} s",
                actual=f"{exchange.describe()} in {exchange.elapsed:.2f} s",
            )
            return dataclasses.replace(violation, evidence=(*violation.evidence, *load))
    return None


@check(
    "SRV-3",
    Level.MUST,
    f"The model is read from a read-only {contract.MODEL_DIR} (train-to-serve round trip)",
    source=contract.DG_INF,
)
def serves_trained_model_read_only(ctx: CheckContext) -> Iterator[Violation]:
    """The model is read from a read-only /opt/ml/model holding the extracted model.tar.gz of TRN-1 (the
    train-to-serve round trip).

    Why: Hosting extracts the model.tar.gz that training uploaded into /opt/ml/model before the container starts,
    and the image must serve that model. A server that writes into the model directory, or loads a model from
    somewhere else, works on a laptop and fails on the service.

    How: Packs the model TRN-1 wrote as model.tar.gz, extracts it, and mounts it read-only at /opt/ml/model in the
    serving container; the test-dir's payload must then get a 200. A server that stops with "Read-only file system"
    in its logs fails here.
    """
    server = ctx.server(SERVE_DEFAULT, ready=False)
    if not server.readiness.ready:
        logs = server.logs()
        if "Read-only file system" in logs or "EROFS" in logs:
            yield Violation(
                f"The server writes into {contract.MODEL_DIR}, which SageMaker mounts read-only",
                expected=f"only reads from {contract.MODEL_DIR}",
                actual="'Read-only file system' in the logs",
            )
            return
        raise DependencyFailed("SRV-2", server.readiness.describe())
    exchange = invoke(ctx, server, ctx.test_dir.payload)
    if exchange.status != 200:
        yield exchange_violation(
            exchange,
            "The server is up but cannot predict with the model it was given",
            expected=f"200 for the test-dir's payload, using the model from {contract.MODEL_DIR}",
        )


@check(
    "SRV-11",
    Level.MUST,
    "SIGTERM ends the server within 30 s without SIGKILL",
    source=contract.DG_INF,
    uses=(SERVE_SIGTERM,),
    apart=True,
)
def sigterm_stops_server(ctx: CheckContext) -> Iterator[Violation]:
    """SIGTERM (docker stop -t 30) ends the container within 30 s without being killed; the time is reported.

    Why: On UpdateEndpoint and scale-in SageMaker sends SIGTERM, then SIGKILL thirty seconds later. A server that
    never receives SIGTERM (a shell wrapper without `exec`) is killed with requests in flight, and they fail.

    How: Takes a server of the default configuration: the second one (default-2) once the checks on it are done,
    when the certification has one and it became healthy, else one of its own. Waits for /ping and for PID 1 to take
    SIGTERM (up to 5 s more, as TRN-7 does: SageMaker stops an endpoint long after it is healthy), sends `docker stop
    -t 30` and times
    the exit (measured): it must come before the SIGKILL. A stop that fails on default-2 (the checks before may have
    left it so) is timed again on a server of its own, which the verdict is on. The control is read inside the
    container: how long its tasks (per program, the one that waited longest) waited for a CPU from the SIGTERM to a
    second before the SIGKILL (one
    `docker exec` as SIGTERM goes, one then if the server is still running). A SIGKILL after under a second of
    waiting fails (a shell that never passes SIGTERM on waits for nothing); one that the waiting can explain is timed
    again on a fresh server with the other checks paused, else not judged. Without the waits (no `sh` in the image),
    the load average per CPU decides.
    """

    commands: list[str] = []
    on = [ctx.certification.started_as(SERVE_SIGTERM)]
    unhealthy = ctx.certification.unhealthy_second() if on[0] != SERVE_SIGTERM else None
    if unhealthy is not None:
        ctx.note(f"{unhealthy}: the stop is timed on a server of its own")
        on = [SERVE_SIGTERM]

    def stopped() -> StopResult:
        server = ctx.server(on[-1])
        commands.append(server.stop_command(contract.SERVE_STOP_GRACE_S))
        try:
            return server.stop_gracefully(contract.SERVE_STOP_GRACE_S)
        finally:
            ctx.discard(on[-1])  # stopped: a second measurement starts a fresh one

    def timed() -> StopResult:
        return ctx.timed(
            stopped,
            StopResult.judged_seconds,
            contract.SERVE_STOP_GRACE_S,
            f"the stop (SIGTERM, SIGKILL after {contract.SERVE_STOP_GRACE_S} s)",
            load_of=lambda stop: stop.load,
            judge=StopResult.fair,
        )

    stop = timed()
    if on[-1] != SERVE_SIGTERM and (stop.killed or stop.already_exited):
        ctx.note(
            f"the stop of {on[-1].name} after the checks on it {'was SIGKILLed' if stop.killed else 'found it exited'}"
            ": timed again on a server of its own"
        )
        on.append(SERVE_SIGTERM)
        stop = timed()
    ctx.measure("serve_sigterm_seconds", stop.seconds)
    if stop.already_exited:
        yield Violation(
            "The server exited on its own before SIGTERM",
            expected="running until stopped",
            actual=f"exit code {stop.exit_code}",
        )
    elif stop.killed:
        yield Violation(
            "The server ignored SIGTERM and was killed by SIGKILL after 30 s",
            expected=f"exit within {contract.SERVE_STOP_GRACE_S} s of SIGTERM",
            actual=f"exit code {stop.exit_code} (SIGKILL) after {stop.seconds:.1f} s",
            evidence=(
                *stop.pid1_evidence(),
                *ctx.load_evidence(),
                (
                    "Hint",
                    "PID 1 ignores SIGTERM without a handler; use an exec-form ENTRYPOINT and forward the "
                    "signal to nginx and the model server.",
                ),
            ),
            reproduce=(commands[-1],),
        )


@check(
    "SRV-14",
    Level.MUST,
    "Serving works with no egress network and no AWS_* variables",
    source=contract.DG_NETISO,
    uses=(SERVE_ISOLATED,),
    apart=True,
)
def serves_network_isolated(ctx: CheckContext) -> Iterator[Violation]:
    """Serving works with no egress (an internal Docker network) and no AWS_* variables; the harness asks /ping
    and /invocations from a probe container on that network, so this holds wherever Docker runs.

    Why: Under network isolation (CreateModel with EnableNetworkIsolation, required for AWS Marketplace models) the
    container can make no outbound call and gets no AWS credentials. A server that downloads anything at start never
    becomes healthy.

    How: Starts the server on an internal Docker network (no egress) with no AWS_* variables, under a network alias,
    and sends /ping and the test-dir's payload from a probe container on the same network (the image under test's own
    python3 with its entrypoint replaced; skipped, with the reason, when the image has no python3); requires /ping
    200 and a 200 for the payload.
    """
    server = ctx.server(SERVE_ISOLATED, ready=False)
    if not server.readiness.ready:
        yield Violation(
            "The server did not become healthy without network egress",
            expected=f"200 on {contract.PING_PATH} within {server.readiness.budget:g} s on a network with no egress",
            actual=server.readiness.describe(),
            evidence=(("Hint", "Start-up downloads (pip install, model hubs, S3) fail under network isolation."),),
        )
        return
    yield from accepted(invoke(ctx, server, ctx.test_dir.payload), "network-isolated")
