"""SRV-12 and SRV-13: what /ping says when the server cannot serve (no model) and when it is busiest (invocations in
flight)."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import threading
from collections.abc import Iterator

import requests

from conformance import contract
from conformance.context import SERVE_EMPTY_MODEL, CheckContext
from conformance.failures import DependencyFailed, NotJudged, Violation
from conformance.fairness import RESOLUTION_S, Load, fair, fair_startup, lifetime_load, measured_wait
from conformance.http import Exchange
from conformance.invoking import curl, healthy_ping, request_media_type, sized_payload
from conformance.registry import Level, check
from conformance.targets import Server

CONCURRENCY = 8
"""Invocations SRV-13 keeps in flight while it pings."""
CONCURRENT_SECONDS = 3.0
SLOW_WINDOW_MAX_S = 10.0
"""How long SRV-13 goes on pinging while its pings are over the limit but none yet on the image's own time (the
host's waits could explain each): a queued ping of 3 s fits once in the 3 s window, and each next one is another
measurement with its own control."""
LIMIT = contract.PING_TIMEOUT_S


@check(
    "SRV-12",
    Level.SHOULD,
    f"With an empty {contract.MODEL_DIR}, /ping never returns 200",
    source=contract.DG_INF,
    uses=(SERVE_EMPTY_MODEL,),
    apart=True,
)
def no_model_not_healthy(ctx: CheckContext) -> Iterator[Violation]:
    """With an empty /opt/ml/model, `/ping` never returns 200 (or the container exits non-zero), watched for 5 times
    the image's own cold start with a model (SRV-2's), at least 10 s and never past the start-up budget.

    A healthy ping without a model sends traffic to a container that can only fail. The watch follows the image's
    cold start, not the whole start-up budget: a server without a model has less to do before it answers than the
    same server loading one, so a server that would answer 200 without a model does so by the time the same image,
    with its model, answered 200; five times that, and 10 s at least, leave room for a loaded machine. A server
    still not healthy then will not become healthy without a model. (Not caught: a server that waits longer than
    the window for a model to appear, then gives up into answering 200.) Skipped, naming SRV-2, when the server
    never became healthy with its model: then an unhealthy server without one says nothing.

    Why: /ping is how SageMaker decides that an instance can serve. A server that answers 200 without a model takes
    traffic it can only fail, where an unhealthy ping would have stopped the launch.

    How: Starts the server with an empty /opt/ml/model as soon as the default server is healthy, and polls its /ping
    in the background for the window above while the other checks run; when this check runs it waits for what is
    left of the window. /ping must never answer 200 (exiting non-zero is fine, exiting 0 is not). A window its tasks
    spent waiting a second or more for a CPU (a busy host) is not the server's own: /ping is watched again, with the
    other checks paused, for as long as they waited, else the clause is not judged, naming the load.
    """
    default = ctx.default_server()
    if not default.readiness.ready:
        raise DependencyFailed("SRV-2", default.readiness.describe())
    server = ctx.server(SERVE_EMPTY_MODEL, ready=False)
    readiness = server.readiness
    ctx.measure("empty_model_watch_seconds", readiness.budget)
    late = _watch_what_the_window_waited(ctx, server) if readiness.ran_out else None
    if readiness.ready or late is not None:
        seen = late or readiness.last
        yield Violation(
            f"/ping answered 200 with an empty {contract.MODEL_DIR}",
            expected="never 200 (or a non-zero exit) without a model",
            actual=f"200 after {readiness.seconds:.2f} s" if late is None else "200 once the window was its own",
            evidence=(*(seen.evidence() if seen else ()), *ctx.load_evidence()),
            reproduce=("curl -i http://localhost:8080/ping",),
        )
    elif readiness.exited and readiness.exit_code == 0:
        yield Violation(
            "The container exited 0 with no model; SageMaker would not see it as a failure",
            expected="a non-zero exit code",
            actual="exit code 0",
        )


def _watch_what_the_window_waited(ctx: CheckContext, server: Server) -> Exchange | None:
    """A window the server spent waiting for a CPU was not its own: /ping is watched again, with the other checks
    paused, for as long as it waited (a whole window when that cannot be read), until what the server waited in the
    meantime is under a second; the 200 seen then, if any. Still owed a second after another window: not judged."""
    load = ctx.record_load(lifetime_load(ctx.certification.host, server.cpu_waits))
    if fair_startup(load):
        return None
    window = server.readiness.budget
    ctx.note(f"the {window:g} s window came under load ({load.describe()}): /ping watched again in quiet")
    clock = ctx.clock
    with ctx.certification.quiet(ctx.clause_id):
        owed, watched = (load.waited if load.waited is not None else window), 0.0
        while owed >= RESOLUTION_S and watched < window:
            end = clock.now() + owed
            while clock.now() < end and server.running():
                ping = server.request("GET", contract.PING_PATH, timeout=contract.PING_TIMEOUT_S)
                if ping.status == 200:
                    return ping
                clock.sleep(0.5)
            watched += owed
            before, load = load, ctx.record_load(lifetime_load(ctx.certification.host, server.cpu_waits))
            if load.waited is None or before.waited is None:
                owed = 0.0 if fair_startup(load) else window
            else:
                owed = load.waited - before.waited
    if owed >= RESOLUTION_S:
        raise NotJudged(
            "not judged, the host was too busy to time it fairly, twice (the second time with the other checks "
            f"paused): the server without a model could not be given its {window:g} s window, under load: "
            f"{load.describe()}"
        )
    return None


@check(
    "SRV-13",
    Level.SHOULD,
    "/ping stays 200 and under 2 s while invocations are in flight",
    source=contract.DG_INF,
    replica=True,
)
def ping_under_load(ctx: CheckContext) -> Iterator[Violation]:
    """`/ping` stays 200 and under 2 s while concurrent invocations are in flight.

    Why: SageMaker keeps pinging while invocations are in flight, and batch transform sends MaxConcurrentTransforms
    requests at once. A server whose workers are all busy lets /ping time out after 2 s, and the instance is taken
    out of service under load.

    How: Sends 8 concurrent invocations for 3 s while pinging; every ping must answer 200 within 2 s and the
    invocations must succeed (the slowest ping is measured). Once a ping takes over 1 s, each next one is timed with
    its own control, the waits for a CPU during that ping alone; while pings are over 2 s but the server's waits for
    a CPU can explain each (a busy host), pinging goes on up to 10 s; still so, the window is measured again with
    the other checks paused, else the clause is not judged.
    """
    server = ctx.server()
    body = sized_payload(ctx, 512 * 1024)
    accept = ctx.policy.accept
    headers = {"Content-Type": request_media_type(ctx), **({"Accept": accept} if accept else {})}

    def under_load() -> PingsUnderLoad:
        stop = threading.Event()
        statuses: list[int | None] = []

        def load() -> None:
            session = requests.Session()
            while not stop.is_set():
                exchange = server.request(
                    "POST", contract.INVOCATIONS_PATH, body=body, headers=headers, session=session
                )
                statuses.append(exchange.status)

        slowest: Exchange | None = None
        timed: tuple[Exchange, Load] | None = None  # the slow ping with the most time of its own, and its control
        with concurrent.futures.ThreadPoolExecutor(CONCURRENCY) as pool:
            workers = [pool.submit(load) for _ in range(CONCURRENCY)]
            started = ctx.clock.now()
            session = requests.Session()
            while ctx.clock.now() < started + (
                SLOW_WINDOW_MAX_S if slowest is not None and not healthy_ping(slowest) else CONCURRENT_SECONDS
            ):
                near = slowest is not None and slowest.elapsed >= LIMIT / 2
                ping, control = _ping(ctx, server, session, timed=near)
                if slowest is None or ping.elapsed > slowest.elapsed or ping.status != 200:
                    slowest = ping
                slow = not healthy_ping(ping)
                if slow and control is not None and (timed is None or _own(ping, control) > _own(*timed)):
                    timed = (ping, control)
                if ping.status != 200:
                    break  # failed outright
                if timed is not None and fair(timed[0].elapsed, LIMIT, timed[1]):
                    break  # over the limit on the image's own time
                if slow and near and control is None:
                    break  # slow, and no ping's own waits can be read: the whole window's control judges it
                ctx.clock.sleep(0.1)
            stop.set()
            for worker in workers:
                worker.result()
        assert slowest is not None
        if timed is not None:
            return PingsUnderLoad(timed[0], statuses, len(body), timed[1])
        return PingsUnderLoad(slowest, statuses, len(body))

    seen = ctx.timed(
        under_load,
        lambda seen: seen.slowest.elapsed,
        contract.PING_TIMEOUT_S,
        f"/ping while {CONCURRENCY} invocations were in flight",
        server=server,
        load_of=lambda seen: seen.load,
    )
    ctx.measure("ping_under_load_max_seconds", seen.slowest.elapsed)
    yield from judge_pings_under_load(seen, ctx.load_evidence())


def _ping(ctx: CheckContext, server: Server, session: requests.Session, *, timed: bool) -> tuple[Exchange, Load | None]:
    """One ping; when ``timed``, with its own control: the waits for a CPU of the image's tasks and of this thread
    during that ping alone (a whole window's would count the waits of invocations the ping never queued behind)."""
    host = ctx.certification.host
    before = server.cpu_waits() if timed else None
    own_before = host.thread_wait() if before is not None else None
    ping = server.request("GET", contract.PING_PATH, timeout=10, session=session)
    if before is None or own_before is None:
        return ping, None
    waited = measured_wait(before, server.cpu_waits(), own_before, host.thread_wait())
    return ping, None if waited is None else host.measure_load(waited)


def _own(ping: Exchange, control: Load) -> float:
    return ping.elapsed - (control.waited or 0.0)


@dataclasses.dataclass(frozen=True)
class PingsUnderLoad:
    """What SRV-13 observed: the slowest ping (or the first that failed, or the one slow on its own time), the
    invocations' statuses, their size, and that ping's own control when it was timed with one."""

    slowest: Exchange
    statuses: list[int | None]
    body_bytes: int
    load: Load | None = None


def judge_pings_under_load(seen: PingsUnderLoad, load: tuple[tuple[str, str], ...] = ()) -> Iterator[Violation]:
    """SRV-13's verdict on what it observed; fairness is judged before (CheckContext.timed)."""
    slowest = seen.slowest
    if not healthy_ping(slowest):
        yield Violation(
            f"/ping failed while {CONCURRENCY} invocations of {seen.body_bytes:,} bytes were in flight",
            expected=f"200 in under {contract.PING_TIMEOUT_S:g} s",
            actual=f"{slowest.describe()} in {slowest.elapsed:.2f} s",
            evidence=(*slowest.evidence(), *load),
            reproduce=curl(slowest),
        )
    failed = [s for s in seen.statuses if s != 200]
    if failed:
        yield Violation(
            f"Invocations failed under concurrency ({len(failed)} of {len(seen.statuses)})",
            expected="200 for every invocation",
            actual=f"statuses {sorted(set(map(str, failed)))}",
        )
