"""ENV-3: the model server's timeout variable, observed as the server cutting a request to workers that stopped."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from conformance import contract, freezing, procs
from conformance.context import CheckContext, wait_for
from conformance.failures import CheckSkipped, NotJudged, Violation
from conformance.fairness import Load, fair
from conformance.http import Exchange
from conformance.invoking import exchange_violation, invocation_headers, invoke, response_records
from conformance.registry import Level, check
from conformance.targets import Server
from conformance.variables import (
    Variables,
    env_spec,
    frozen_spec,
    judged_variables,
    note_judged,
    planned_frozen_spec,
    settled_workers,
)

HEARTBEAT_SLACK_S = 1.0
"""ENV-3 accepts a cut this much before T: servers count a worker's silence from its last heartbeat
(gunicorn's workers beat about once a second), which may precede the freeze."""
CUT_MARGIN_S = 8.0
"""ENV-3's "near T": the request must end before T + this margin. It covers a supervisor's polling
(gunicorn checks once a second, then sends SIGABRT and SIGKILL a second apart), a replacement worker's
boot, and a front proxy that waits a few seconds longer than the server (the reference images' nginx:
T + 5 s); with T = 10 s it still excludes every built-in limit named in contract.ENV_TIMEOUT_BEHAVIOUR_PROBE_S."""
RECOVERY_S = 30.0
"""How long the server may take to answer /ping 200 and an invocation again once its workers resume."""


def _cut(exchange: Exchange) -> bool:
    """The server gave up on the request: an error status or a closed connection, not an answer (also when the
    harness's client then sent it again on a fresh connection and got one: :attr:`Exchange.dropped_after`)."""
    cut_off = exchange.status is None or exchange.status >= 500 or exchange.status == 408
    return cut_off or exchange.dropped_after is not None


def _nginx_before(ctx: CheckContext, variables: Variables) -> Iterator[Violation]:
    """A front nginx must not cut /invocations before the variable's T, read at T = 97 s (ENV-3's probe
    would take 97 s to see it by behaviour)."""
    server = ctx.server(env_spec(variables))
    nginx = procs.nginx_master(server.processes())
    if nginx is None:
        return
    path = procs.nginx_config_path(nginx)
    config = server.nginx_config(path)
    if config is None:
        config = (server.read_file(path) or b"").decode("utf-8", "replace")
    if not config:
        return
    wanted = float(contract.ENV_TIMEOUT_PROBE_S)
    seconds, where = procs.nginx_read_timeout(config, contract.INVOCATIONS_PATH)
    ctx.measure("nginx_read_timeout_seconds", seconds)
    if seconds < wanted:
        yield Violation(
            f"nginx would cut /invocations off after {seconds:g} s, before the model server's {wanted:g} s",
            expected=f"proxy_read_timeout >= {wanted:g} s for {contract.INVOCATIONS_PATH} "
            f"with {variables.timeout}={wanted:g}",
            actual=f"{seconds:g} s ({where} of {path})",
            evidence=(("Hint", "Render nginx's proxy_read_timeout from the same variable as the server's timeout."),),
        )


@check(
    "ENV-3",
    Level.MUST,
    "MODEL_SERVER_TIMEOUT=T cuts off a request the model does not answer, near T",
    source=contract.DG_INF,
    uses=(planned_frozen_spec,),
    apart=True,
    waits=contract.ENV_TIMEOUT_BEHAVIOUR_PROBE_S,
)
def timeout_variable_honoured(ctx: CheckContext) -> Iterator[Violation]:
    """`MODEL_SERVER_TIMEOUT=T` makes the server give up, near T, on a request the model does not answer, and
    recover; judged by behaviour with T = 10 s. The harness freezes every process that runs the model (as
    ENV-1 counts them; SIGSTOP through `docker exec`) and sends an invocation: between T - 1 s and T + 8 s the
    server must cut it off (a 5xx or 408, or a closed connection) or replace the frozen workers and answer
    from a fresh one; a request still open at T + 8 s, or given up on earlier, fails. After SIGCONT, /ping
    answers 200 and an invocation succeeds within 30 s. A front nginx must not cut /invocations off before
    T either (its `proxy_read_timeout`, read with T = 97 s). The variable is chosen as for ENV-1 (the
    Inference Toolkit's `SAGEMAKER_MODEL_SERVER_TIMEOUT_SECONDS`, MLflow's
    `MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT`, else `MODEL_SERVER_TIMEOUT`).

    Why this window: servers count a worker's silence from its last heartbeat, up to about a second before
    the freeze; gunicorn's arbiter checks once a second and sends SIGABRT then SIGKILL a second apart, a
    replacement worker boots, and a front proxy may wait a few seconds longer than the server (the reference
    images' nginx: T + 5 s). T = 10 s keeps the window clear of built-in limits that are not the variable
    (uvicorn replaces a worker that misses its 5 s health check; gunicorn's default is 30 s). A request sent
    while every worker is frozen may wait in the listening socket's queue rather than in a worker: a
    replacement worker's answer then shows that the server enforced T on the frozen ones, and the moment that
    counts is the replacement (a frozen worker gone, or a fresh worker beside it), seen in the process table
    read every 0.5 s while the request is open (a replacement counts as early by when that reading came back,
    as late by when it was asked for: on a loaded engine a reading takes a second or more), not the answer, which
    waits for the fresh worker to boot.
    When a supervisor replaces the frozen workers before T - 1 s, a limit of its own decided (uvicorn's
    health check): that fails when the command line shows another `--timeout`, and is skipped otherwise, as
    freezing cannot show the variable's effect there; except from T/2 on with `--timeout T` on the command line,
    which is T acting (gunicorn counts from the last heartbeat, which an idle worker sends every T/2). A worker
    that booted after the freeze (a server on a loaded
    machine may fork its last workers seconds after /ping first answers) and appears before T - 1 s while every
    frozen worker is still there was late, not a replacement, whether it answered the request or the request
    waited on: ENV-3 then freezes every worker and resends, once. On a busy host the request may leave seconds
    after the freeze (each `docker exec` takes that long): a decision before T - 1 s by the request's clock but not
    by the freeze's could be either (gunicorn counts from the last heartbeat, MMS from the request), so ENV-3
    freezes again and resends, once, and when the second try is as ambiguous the clause is not judged, naming the
    load. A skip never hides nginx's finding.

    Earlier the rule was read from configuration only: `--timeout T` on the model server's command line and
    nginx's `proxy_read_timeout`. A `--timeout` that cuts nothing (a server that parses and ignores it)
    passed; it now fails, and the command line is reported as supporting evidence. MMS under the Inference
    Toolkit, whose timeout is in no command line, was skipped; it is now judged. SIGSTOP freezes a whole
    worker, heartbeat thread included: it stands for a model that hangs the process (a loop holding the
    GIL, a deadlock in native code), not for a slow handler beside a live heartbeat thread (gthread), which
    only a slow model could show.

    Why: InvokeEndpoint allows a container 60 s and batch transform up to InvocationsTimeoutInSeconds (600 s by
    default), and users set the model server's timeout to match. A server that never gives up on a hung model
    holds the connection and the worker until SageMaker's own limit, and one that gives up too early cuts slow
    but valid requests off (gunicorn's default is 30 s, nginx's proxy_read_timeout 60 s).

    How: Starts the server with the judged variable at T = 10 s, freezes the workers with SIGSTOP through
    `docker exec`, sends an invocation and times how it ends while reading the process table every 0.5 s; then
    SIGCONT and a recovery check. A wait for another check's quiet measurement (here or in another certification on
    the host) comes before the freeze, never between the freeze and the request or within the recovery's 30 s
    (CI under load: MMS's request left 16 s after the freeze). A second container with T = 97 s shows nginx's read
    timeout (`nginx -T`).
    """
    variables = judged_variables(ctx)
    variable = variables.timeout
    note_judged(ctx, "timeout", variable, variables)
    if not variable:
        raise CheckSkipped('the policy declares no timeout variable ([env] timeout = "")')
    # The frozen request first: its T-second wait is the longest of the certification, so its server goes first.
    skipped: CheckSkipped | None = None
    try:
        behaviour = list(_frozen_request(ctx, variable))
    except CheckSkipped as error:
        behaviour, skipped = [], error
    nginx = list(_nginx_before(ctx, variables))
    yield from nginx
    if skipped is not None:
        if not nginx:
            raise skipped
        ctx.note(f"The timeout's behaviour was not judged: {skipped}")
        return
    yield from behaviour


def _frozen_request(ctx: CheckContext, variable: str) -> Iterator[Violation]:
    """ENV-3's behaviour: freeze the workers, send a request, see when and how it ends, resume, recover."""
    limit = float(contract.ENV_TIMEOUT_BEHAVIOUR_PROBE_S)
    server = ctx.server(frozen_spec(variable))
    settled_workers(ctx.clock, server)
    body = ctx.test_dir.payload
    headers = invocation_headers(ctx)
    payload_file = ctx.payload_file("env3-frozen.body", body)
    quiet = contextlib.ExitStack()
    for attempt in range(LATE_BOOT_RETRIES + 1):
        seen = server.inside_processes()
        if seen is None:
            raise CheckSkipped(
                "the container's process table could not be read to freeze its workers (a `sh` run in it failed: no "
                "sh in the image, or the container stopped)"
            )
        count = procs.count_workers(seen)
        if not count.workers:
            raise CheckSkipped(
                "no process that runs the model is visible (no known server, no forked workers), so ENV-3 cannot "
                "freeze the model"
            )
        frozen = sorted(w.pid for w in count.workers)
        ctx.pause()  # the freeze starts the measurement: another's quiet is waited for before it, never within it
        with ctx.measuring():
            stop_asked = ctx.clock.now()
            if not server.signal(frozen, "STOP"):
                raise CheckSkipped(f"kill -STOP {' '.join(map(str, frozen))} failed inside the container")
            table, frozen = freezing.freeze_late_workers(server, seen, frozen)
            try:
                exchange, replaced_at, after, lead = freezing.send_while_watching(
                    ctx.clock, server, table, frozen, body, headers, limit + CUT_MARGIN_S, payload_file, stop_asked
                )
            finally:
                alive = {p.pid for p in (server.inside_processes() or [])}
                server.signal([pid for pid in frozen if pid in alive] or frozen, "CONT")
        gone, fresh = freezing.replacements(table, frozen, after)
        moment = _moments(exchange, replaced_at)[0]
        load = ctx.certification.host.measure_load(None)
        configured = procs.server_timeout(count.master) if count.master else None
        own_limit = configured is None or configured == limit  # another --timeout fails whatever the load
        unfair = _unfair_why(
            exchange, moment, lead, limit, replaced_at, load, early_may_be_host=own_limit, configured=configured
        )
        late_boot = _late_boot(exchange, gone, fresh, limit, replaced_at)
        if attempt == LATE_BOOT_RETRIES or not (late_boot or unfair):
            quiet.close()
            break
        if late_boot:
            ctx.note(
                f"ENV-3 froze the workers again and resent its request: PIDs {', '.join(map(str, fresh))} booted "
                f"after the freeze, while every frozen worker was still there"
                + (f" (first seen by {replaced_at[1]:.1f} s)" if replaced_at is not None else "")
                + f", and the request ended {exchange.describe()} after {exchange.elapsed:.1f} s"
            )
        else:
            ctx.note(f"ENV-3 froze the workers again and resent its request, with the other checks paused: {unfair}")
            quiet.enter_context(ctx.certification.quiet(ctx.clause_id))
        settled_workers(ctx.clock, server)
    ctx.measure("freeze_to_request_seconds", round(lead, 2))
    ctx.record_load(load)
    if unfair:
        raise NotJudged(f"not judged, the host was too busy to time it fairly ({load.describe()}), twice: {unfair}")
    evidence = [("Process table (container PIDs)", procs.render_table(table))]
    if configured is not None:
        ctx.measure("configured_timeout_seconds", configured)
        master = count.master
        evidence.append(
            ("Command line", f"--timeout {configured:g} (PID {master.pid}: {master.args})" if master else "")
        )
    ended = exchange.elapsed
    replaced = gone + fresh
    ctx.measure("frozen_request_seconds", ended)
    if replaced_at is not None:
        ctx.measure("workers_replaced_seconds", replaced_at[1])
    evidence.append(
        (
            "Frozen",
            f"PIDs {', '.join(map(str, frozen))} ({count.rule}); afterwards, frozen workers gone: "
            f"{', '.join(map(str, gone)) or 'none'}; fresh workers: {', '.join(map(str, fresh)) or 'none'}"
            + (f"; first seen replaced by {replaced_at[1]:.1f} s" if replaced_at is not None else ""),
        )
    )
    evidence += list(exchange.evidence())
    replaced_text = ", ".join(map(str, replaced)) or "none"
    window = f"between {limit - HEARTBEAT_SLACK_S:g} and {limit + CUT_MARGIN_S:g} s"
    setting = f"{variable}={limit:g}"
    cut = _cut(exchange)
    moment, late = _moments(exchange, replaced_at)
    if exchange.status is None and "ReadTimeout" in (exchange.error or ""):
        yield Violation(
            f"{setting} did not cut off a request to frozen workers: still open after {ended:.1f} s",
            expected=f"a 5xx, a closed connection, or an answer from a replacement worker {window}",
            actual=f"no answer within {limit + CUT_MARGIN_S:g} s"
            + (f" (the command line says --timeout {configured:g})" if configured is not None else ""),
            evidence=tuple(evidence),
            reproduce=(server.signal_command(frozen, "STOP"), exchange.curl(contract.PORT)),
        )
    elif not cut and not replaced:
        raise CheckSkipped(
            f"/invocations answered {exchange.describe()} in {ended:.1f} s although every process ENV-3 found "
            f"running the model was frozen (PIDs {', '.join(map(str, frozen))}: {count.rule}) and none was "
            "replaced: another process runs it, and ENV-3 cannot freeze it"
        )
    elif (not cut or _killed(exchange, gone)) and _t_acting_early(configured, limit, moment):
        # The command line carries T, and gunicorn counts a worker's silence from its last heartbeat, which an idle
        # worker sends only every T/2: a replacement from T/2 on is T acting (seen: 4.9 s with T = 10 in CI), and so
        # is the cut that killing the worker made (seen: 7.7 s under load).
        ctx.note(
            f"the workers were replaced {moment:.1f} s after the request, with --timeout {configured:g} on the "
            f"command line: a supervisor that counts from the last heartbeat (every T/2 when idle) acts from T/2 on"
        )
    elif moment < limit - HEARTBEAT_SLACK_S and not cut:
        # A supervisor replaced the frozen workers early: a limit of its own decided (uvicorn's 5 s health
        # check, a hard-coded --timeout), so the variable's effect is unseen.
        if configured is None or configured == limit:
            raise CheckSkipped(
                f"the server replaced its frozen workers after {moment:.1f} s, before {setting} could act, and "
                f"answered {exchange.describe()} from a fresh worker: a limit of its own (such as uvicorn's 5 s "
                "worker health check) decided, so freezing cannot show the variable's effect"
            )
        yield Violation(
            f"{setting} was not the timeout: the server replaced its frozen workers after {moment:.1f} s",
            expected=f"the request cut off, or the workers replaced, {window}",
            actual=f"{exchange.describe()} from a fresh worker; the command line says --timeout {configured:g}",
            evidence=tuple(evidence),
        )
    elif moment < limit - HEARTBEAT_SLACK_S:
        yield Violation(
            f"{setting} was not the timeout: the server gave up on frozen workers after {moment:.1f} s",
            expected=f"the request cut off, or the workers replaced, {window}",
            actual=f"{exchange.describe()} after {ended:.1f} s; workers replaced: {replaced_text}",
            evidence=tuple(evidence),
        )
    elif late >= limit + CUT_MARGIN_S:
        yield Violation(
            f"{setting} cut off a request to frozen workers only after {late:.1f} s",
            expected=f"the request cut off, or the workers replaced, {window}",
            actual=f"{exchange.describe()} after {ended:.1f} s",
            evidence=tuple(evidence),
        )
    with ctx.measuring():  # RECOVERY_S counts from SIGCONT
        recovery = list(_recovered(ctx, server))
    yield from recovery


def _killed(exchange: Exchange, gone: Sequence[int]) -> bool:
    """The cut is the frozen worker's death: the connection closed unanswered (a frozen process closes nothing
    while it lives), or a front proxy's 502 for it, and frozen workers are gone. Another status (a proxy's 504) is
    a limit of the proxy's own."""
    closed = exchange.dropped_after is not None or exchange.status in (None, 502)
    return closed and bool(gone)


def _moments(exchange: Exchange, replaced_at: tuple[float, float] | None) -> tuple[float, float]:
    """When the server decided, by the request's clock: as early as it can have been, and as late. A cut is the
    answer; when a fresh worker answered, the decision was the replacement, not the answer (seen in a reading of
    the process table: early by when the reading came back, late by when it was asked for)."""
    if exchange.dropped_after is not None:
        return exchange.dropped_after, exchange.dropped_after
    if _cut(exchange) or replaced_at is None:
        return exchange.elapsed, exchange.elapsed
    return replaced_at[1], replaced_at[0]


def _unfair(moment: float, lead: float, limit: float) -> bool:
    """Whether the host made the timing ambiguous: the request left ``lead`` seconds after the workers were asked to
    freeze (each `docker exec` takes seconds on a busy engine), and the decision at ``moment`` by the request's
    clock is before T - 1 s by that clock but not by the freeze's. A server that counts a worker's silence from its
    last heartbeat (gunicorn) counts from the freeze; one that times the request (MMS) from the request: which one
    it is cannot be seen, so neither verdict is fair."""
    early = limit - HEARTBEAT_SLACK_S
    return moment < early <= moment + lead


def _t_acting_early(configured: float | None, limit: float, moment: float) -> bool:
    """A replacement before T - 1 s that is T acting: `--timeout T` on the command line, and from T/2 on (gunicorn
    counts a worker's silence from its last heartbeat, which an idle worker sends every T/2, its uvicorn worker
    class too)."""
    return configured == limit and limit / 2 - HEARTBEAT_SLACK_S <= moment < limit - HEARTBEAT_SLACK_S


def _unfair_why(
    exchange: Exchange,
    moment: float,
    lead: float,
    limit: float,
    replaced_at: tuple[float, float] | None,
    load: Load,
    *,
    early_may_be_host: bool = True,
    configured: float | None = None,
) -> str | None:
    """Why the host, not the server, may have decided ENV-3's verdict; None when the timing was fair. Early: see
    :func:`_unfair`; and a replacement before T - 1 s while the load average was at least the CPU count, when
    only a limit of the server's own (a skip) could explain it otherwise: a worker the host kept from its heartbeat
    before the freeze is counted silent from before it (seen: the reference image's gthread workers replaced 7.8 s
    after the freeze beside other certifications and two CPU burners). Late: the server replaced its frozen
    workers within the window, by the reading's return, yet the request was still open at T + 8 s; a fresh worker
    booting and answering is work a busy host slows (seen: gunicorn's sync workers at a load average of 21 on 2
    CPUs, replaced at 9.3 s, still open at 19.1 s)."""
    if _unfair(moment, lead, limit):
        return _unfair_text(moment, lead, limit)
    early = limit - HEARTBEAT_SLACK_S
    replaced_early = not _cut(exchange) and replaced_at is not None and moment < early
    # The load average kept tasks waiting: a heartbeat may have come late, before the freeze. Not when T counted
    # from an idle worker's last heartbeat explains the moment anyway (the verdict is the same whatever the load).
    t_acting = _t_acting_early(configured, limit, moment)
    if early_may_be_host and replaced_early and not t_acting and not fair(limit, limit, load):
        return (
            f"the server replaced its frozen workers {moment:.1f} s after the request, before T - "
            f"{HEARTBEAT_SLACK_S:g} s = {early:g} s, while the host was busy: a worker kept from its heartbeat "
            "before the freeze is counted silent from before it"
        )
    late = limit + CUT_MARGIN_S
    if (
        exchange.status is None
        and "ReadTimeout" in (exchange.error or "")
        and replaced_at is not None
        and replaced_at[1] < late
        and not fair(exchange.elapsed, late, load)
    ):
        return (
            f"the server replaced its frozen workers {replaced_at[1]:.1f} s after the request, within the window, "
            f"but the request was still open after {exchange.elapsed:.1f} s: a fresh worker booting and answering on "
            "a busy host may take that long"
        )
    return None


def _unfair_text(moment: float, lead: float, limit: float) -> str:
    return (
        f"the request left {lead:.1f} s after the workers were frozen (docker exec was that slow), and the server "
        f"decided {moment:.1f} s after the request, {moment + lead:.1f} s after the freeze: whether that is before "
        f"T - {HEARTBEAT_SLACK_S:g} s = {limit - HEARTBEAT_SLACK_S:g} s depends on which one the server counts from"
    )


LATE_BOOT_RETRIES = 1
"""How many times ENV-3 freezes again and resends when a worker that booted after the freeze appeared early (see
``_late_boot``)."""


def _late_boot(
    exchange: Exchange, gone: list[int], fresh: list[int], limit: float, replaced_at: tuple[float, float] | None
) -> bool:
    """A worker appeared after the freeze, before T - 1 s, while every frozen worker was still there: on a loaded
    machine a server may fork its last workers seconds after /ping first answers. That is no replacement (a server
    that enforces its timeout removes or outlives a frozen worker at T, not before T - 1 s). Either it answered
    the request early, so the freeze did not hold it, or the request waited on regardless, so the worker decided
    nothing; either way ENV-3 freezes every worker, that one too, and sends the request again. A server that
    really replaces a worker early does it again then, and is judged on that."""
    if not fresh or gone or _cut(exchange):
        return False
    early = limit - HEARTBEAT_SLACK_S
    return exchange.elapsed < early or (replaced_at is not None and replaced_at[1] < early)


def _recovered(ctx: CheckContext, server: Server) -> Iterator[Violation]:
    """After SIGCONT: /ping 200 and a valid invocation, all within RECOVERY_S."""
    deadline = ctx.clock.now() + RECOVERY_S
    wait_for(
        ctx.clock, lambda: server.request("GET", contract.PING_PATH, timeout=2).status == 200, RECOVERY_S, interval=0.5
    )
    ping = server.request("GET", contract.PING_PATH, timeout=2)
    if ping.status != 200:
        yield exchange_violation(
            ping, f"/ping did not answer 200 within {RECOVERY_S:g} s after the workers resumed", expected="200"
        )
        return
    body = ctx.test_dir.payload
    while True:
        exchange = invoke(ctx, server, body, name="env3-after", timeout=max(1.0, deadline - ctx.clock.now()))
        if exchange.status == 200 or ctx.clock.now() >= deadline:
            break
        ctx.clock.sleep(1)
    if exchange.status != 200 or not response_records(ctx, exchange):
        yield exchange_violation(
            exchange,
            f"/invocations did not succeed within {RECOVERY_S:g} s after the frozen workers resumed",
            expected="200 with predictions",
        )
