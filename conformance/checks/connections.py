"""SRV-20: the connections SageMaker's front end keeps open to the server (HTTP/1.1 keep-alive)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from urllib.parse import urlsplit

from conformance import contract
from conformance.context import CheckContext
from conformance.failures import CheckSkipped, Violation
from conformance.invoking import invocation_headers
from conformance.registry import Level, check
from conformance.wire import Request, Turn


def _sent(turn: Turn) -> str:
    return f"{turn.exchange.method} {urlsplit(turn.exchange.url).path}"


def _turn_story(turns: Sequence[Turn], upto: int) -> str:
    """What happened on the connection, request by request, up to turn ``upto``."""
    lines = []
    for number, turn in enumerate(turns[: upto + 1], start=1):
        on = "the same connection" if turn.reused else "a new connection"
        said = turn.exchange.headers.get("connection")
        answer = turn.exchange.describe() + (f", Connection: {said}" if said else ", no Connection header")
        closed = (
            "" if turn.closed_after is None else f"; the server closed the connection {turn.closed_after:.3f} s later"
        )
        lines.append(f"{number}. {_sent(turn)} on {on}: {answer}{closed}")
    return "\n".join(lines)


_PING_URL = f"http://localhost:{contract.PORT}{contract.PING_PATH}"
REPRODUCE_KEEP_ALIVE = f"curl -sv {_PING_URL} {_PING_URL} 2>&1 | grep -iE 'connection|^< HTTP'"
"""curl sends both requests on one connection when the first answer leaves it open."""


@check(
    "SRV-20",
    Level.MUST,
    "A kept-alive HTTP/1.1 connection takes the next request, or the answer says Connection: close",
    source=contract.DG_INF,
)
def persistent_connections(ctx: CheckContext) -> Iterator[Violation]:
    """An HTTP/1.1 connection the server leaves open after an answer takes the next request: a server that closes
    connections says so in the answer (`Connection: close`), as RFC 9112 section 9.6 requires
    (https://www.rfc-editor.org/rfc/rfc9112#section-9.6).

    Why: SageMaker's front end and health checker speak HTTP/1.1 to the container and reuse connections. A server
    that closes a kept-alive connection without saying so races the next request on it, which then fails with a
    connection reset: some invocations and pings fail at random, in production and in other clauses here (uWSGI's
    plain `--http-socket` does this; `--http11-socket`, or `--add-header "Connection: close"`, does not).

    How: Opens one connection to the default server and sends GET /ping, then POST /invocations with the test-dir's
    payload, 3 times each, back to back, reading each answer whole; after an answer that does not say
    `Connection: close`, watches the connection for 0.3 s. A close in that time, or a request that fails on the kept
    connection, is a violation, with the exchanges that show it.
    """
    server = ctx.server()
    headers = invocation_headers(ctx)
    sent: list[Request] = [("GET", contract.PING_PATH, b"", {})] * contract.KEEP_ALIVE_REQUESTS
    sent += [("POST", contract.INVOCATIONS_PATH, ctx.test_dir.payload, headers)] * contract.KEEP_ALIVE_REQUESTS
    turns = server.keep_alive(sent)
    if turns is None:
        raise CheckSkipped("the harness reaches this server only through a probe container, which holds no connection")
    ctx.measure("keep_alive_reused", sum(turn.reused for turn in turns))
    for index, turn in enumerate(turns):
        failed = turn.reused and turn.exchange.status is None
        if turn.closed_after is None and not failed:
            continue
        if failed:
            summary = f"A request on a kept-alive connection failed ({_sent(turn)})"
            actual = turn.exchange.describe()
        else:
            summary = f"The server closed a kept-alive connection without Connection: close ({_sent(turn)})"
            actual = f"closed {turn.closed_after:.3f} s after an answer that did not announce it"
        yield Violation(
            summary,
            expected="the connection stays open for the next request, or the answer says Connection: close",
            actual=actual,
            evidence=(*turn.exchange.evidence(), ("Connection", _turn_story(turns, min(index + 1, len(turns) - 1)))),
            reproduce=(REPRODUCE_KEEP_ALIVE,),
        )
        return
