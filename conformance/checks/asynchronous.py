"""ENV: asynchronous endpoints (the policy's ``[async]``): whole answers with a Content-Length, headers within
4096 bytes, invocations longer than 60 s answered, and request bodies above 6 MB up to what the image declares."""

from __future__ import annotations

from collections.abc import Iterator

from conformance import contract
from conformance.context import CheckContext
from conformance.failures import CheckSkipped, Violation
from conformance.http import Exchange
from conformance.invoking import accepted, invocation_headers, invoke, sized_payload
from conformance.registry import Level, check
from conformance.targets import ServeSpec
from conformance.testdir import Asynchronous, Policy
from conformance.wire import Streamed

LARGEST_SENT_MB = 64.0
"""The largest body ENV-13 sends: a declared limit above it is tried at this size (with a note), so that a run stays
within memory and minutes."""


SERVE_ASYNC = ServeSpec("async-long")
"""ENV-12's server of its own: its one long invocation holds a worker for over a minute, beside the other checks."""
LONG_WAIT_MARGIN_S = 15.0
"""How long past the declared InvocationTimeoutSeconds ENV-12 waits for the long payload's answer."""


def _long_server(policy: Policy) -> ServeSpec | None:
    profile = policy.asynchronous
    if profile is None or profile.long_payload is None:
        return None
    return SERVE_ASYNC if profile.invocation_timeout_s > contract.INVOCATION_LIMIT_S else None


def _profile(ctx: CheckContext) -> Asynchronous:
    if ctx.policy.asynchronous is None or not ctx.policy.serves:
        raise CheckSkipped("the image does not claim the capability: its policy declares no [async] deployment")
    return ctx.policy.asynchronous


def _answer(ctx: CheckContext) -> Streamed:
    """The test-dir's payload, not streamed, with its answer's framing and headers as they came on the wire."""
    request = ("POST", contract.INVOCATIONS_PATH, ctx.test_dir.payload, invocation_headers(ctx))
    streamed = ctx.server().stream(request, payload_file=ctx.payload_file("async.body", ctx.test_dir.payload))
    if streamed is None:
        raise CheckSkipped("the harness reaches this server only through a probe container, which shows no framing")
    return streamed


def header_bytes(exchange: Exchange) -> int:
    """The bytes of the answer's status line and header block as sent (``Name: value`` CRLF each, a blank line)."""
    status = len(f"HTTP/1.1 {exchange.status} {exchange.reason}\r\n")
    return status + sum(len(name) + 2 + len(value) + 2 for name, value in exchange.headers.items()) + 2


@check(
    "ENV-10",
    Level.CONDITIONAL,
    "Asynchronous endpoints: a whole answer carries Content-Length, not chunked ([async] images)",
    source=contract.DG_ASYNC,
)
def async_content_length(ctx: CheckContext) -> Iterator[Violation]:
    """An image deployed to asynchronous endpoints (the policy's `[async]`) answers a non-streamed invocation with a
    `Content-Length` header, not with chunked transfer encoding.

    Why: An asynchronous endpoint reads the container's whole answer and writes it to S3; users of AWS's own
    containers report that a chunked answer fails there (github deepjavalibrary/djl-serving issue 2567, from
    vllm-project/vllm issue 2912; no AWS page states it). A server that streams every answer, or a proxy that
    re-frames it, passes real-time endpoints and fails every asynchronous request.

    How: POSTs the test-dir's payload as a real-time client does (the policy's Content-Type and Accept, no streaming
    asked for), reads the answer with `http.client`, and requires a 200 with a Content-Length and no
    `Transfer-Encoding: chunked`.
    """
    _profile(ctx)
    streamed = _answer(ctx)
    exchange = streamed.exchange
    if exchange.status != 200:
        yield from accepted(exchange, "the test-dir's payload, for an asynchronous endpoint")
        return
    length = exchange.headers.get("content-length")
    if streamed.chunked or length is None:
        yield Violation(
            "A whole answer is sent chunked, without Content-Length: asynchronous endpoints fail on it",
            expected="a Content-Length header and no Transfer-Encoding: chunked",
            actual=f"Transfer-Encoding: {exchange.headers.get('transfer-encoding', 'none')}, "
            f"Content-Length: {length or 'none'}",
            evidence=exchange.evidence(),
            reproduce=(exchange.curl(contract.PORT),),
        )


@check(
    "ENV-11",
    Level.CONDITIONAL,
    "Asynchronous endpoints: an answer's headers stay within 4096 bytes ([async] images)",
    source=contract.DG_ASYNC,
)
def async_header_size(ctx: CheckContext) -> Iterator[Violation]:
    """An image deployed to asynchronous endpoints answers with a status line and headers of at most 4096 bytes.

    Why: An asynchronous endpoint fails an answer whose headers are larger (users' reports: github
    aws/deep-learning-containers issue 4668; no AWS page states the limit): a server that echoes its configuration,
    a trace or a cookie jar into headers answers every real-time call and fails every asynchronous one.

    How: POSTs the test-dir's payload, reads the answer's header block with `http.client`, and requires its size
    (`Name: value` and CRLF per header, with the status line) to be at most 4096 bytes; a violation names the
    largest headers.
    """
    _profile(ctx)
    exchange = _answer(ctx).exchange
    if exchange.status is None:
        yield from accepted(exchange, "the test-dir's payload, for an asynchronous endpoint")
        return
    size = header_bytes(exchange)
    ctx.measure("answer_header_bytes", size)
    if size > contract.ASYNC_MAX_HEADER_BYTES:
        largest = sorted(exchange.headers.items(), key=lambda item: -len(item[1]))[:3]
        listed = "\n".join(f"{name}: {len(value):,} bytes" for name, value in largest)
        yield Violation(
            f"The answer's headers take {size:,} bytes: asynchronous endpoints refuse more than 4096",
            expected=f"status line and headers within {contract.ASYNC_MAX_HEADER_BYTES:,} bytes",
            actual=f"{size:,} bytes in {len(exchange.headers)} headers",
            evidence=(*exchange.evidence(), ("Largest headers", listed)),
            reproduce=(exchange.curl(contract.PORT),),
        )


@check(
    "ENV-12",
    Level.CONDITIONAL,
    "Asynchronous endpoints: an invocation longer than 60 s is answered within the declared timeout ([async] images)",
    source=contract.DG_ASYNC_INVOKE,
    uses=(_long_server,),
    apart=True,
    waits=contract.INVOCATION_LIMIT_S,
)
def async_long_invocation(ctx: CheckContext) -> Iterator[Violation]:
    """An image deployed to asynchronous endpoints with an `InvocationTimeoutSeconds` above real time's 60 s
    (`[async] invocation_timeout_s`) answers a request that takes its model longer than 60 s (the policy's
    `[async] long_payload`) with a 200, within that timeout: no proxy or server timeout cuts it off at a real-time
    default.

    Why: An asynchronous endpoint waits up to InvocationTimeoutSeconds (at most 3600 s, 15 minutes by default) for
    the container's answer; that is what it is for. A serving stack configured for real time (nginx's
    proxy_read_timeout of 60 s, a model server's 60 s timeout) answers a 504 or a closed connection after a minute,
    and every long request lands in the failure bucket.

    How: Starts a server of its own and POSTs the policy's `long_payload` once, not counted against the real-time
    limit, waiting up to the declared timeout plus 15 s; requires a 200. An answer within 60 s shows nothing (a note
    says so: make the long payload longer). Without a `long_payload`, or with a declared timeout of 60 s or less,
    the clause is not judged.
    """
    profile = _profile(ctx)
    declared = profile.invocation_timeout_s
    body = ctx.test_dir.long_payload
    if declared <= contract.INVOCATION_LIMIT_S:
        raise CheckSkipped(
            f"[async] invocation_timeout_s = {declared} is within real time's {contract.INVOCATION_LIMIT_S:g} s, "
            "which SRV-3 judges"
        )
    if body is None:
        raise CheckSkipped(
            "the policy declares no [async] long_payload, a request its model takes more than 60 s to answer"
        )
    server = ctx.server(SERVE_ASYNC)
    request = ("POST", contract.INVOCATIONS_PATH, body, invocation_headers(ctx))
    streamed = server.stream(
        request,
        timeout=declared + LONG_WAIT_MARGIN_S,
        payload_file=ctx.payload_file("async-long.body", body),
        beyond_limit=True,
    )
    if streamed is None:
        raise CheckSkipped("the harness reaches this server only through a probe container")
    exchange = streamed.exchange
    ctx.measure("async_long_invocation_seconds", exchange.elapsed)
    if exchange.status == 200 and not exchange.error:
        if exchange.elapsed <= contract.INVOCATION_LIMIT_S:
            ctx.note(
                f"the long payload was answered in {exchange.elapsed:.1f} s, within real time's 60 s: it shows "
                "nothing about longer invocations (make [async] long_payload longer)"
            )
        return
    yield Violation(
        f"An invocation longer than 60 s was cut off after {exchange.elapsed:.1f} s, within the declared {declared} s",
        expected=f"200 within InvocationTimeoutSeconds = {declared} s ([async] invocation_timeout_s)",
        actual=exchange.error or exchange.describe(),
        evidence=(
            *exchange.evidence(),
            (
                "Hint",
                "Every timeout on the way (nginx's proxy_read_timeout, the model server's) must be at least the "
                "endpoint's InvocationTimeoutSeconds.",
            ),
        ),
        reproduce=(exchange.curl(contract.PORT),),
    )


@check(
    "ENV-13",
    Level.CONDITIONAL,
    "Asynchronous endpoints: a request body above 6 MB, up to the declared maximum, is accepted ([async] images)",
    source=contract.DG_ASYNC,
    needs=("SRV-9",),
)
def async_large_requests(ctx: CheckContext) -> Iterator[Violation]:
    """An image deployed to asynchronous endpoints accepts a valid request body of the size its policy declares
    (`[async] max_request_mb`), when that is above InvokeEndpoint's 6 MB (SRV-9 judges up to 6 MB).

    Why: An asynchronous endpoint reads its payload from S3, up to 1 GB, and POSTs it to /invocations whole. A
    proxy's body limit set for real-time traffic (nginx's client_max_body_size 6m, a framework's default) refuses
    it with a 413 the caller only finds in the failure bucket.

    How: POSTs the test-dir's payload lengthened to the declared size (at most 64 MB, with a note when the
    declaration is larger) in the request's media type, and requires a 200.
    """
    profile = _profile(ctx)
    limit_mb = profile.max_request_mb
    if limit_mb * contract.MEGABYTE <= contract.MAX_REQUEST_BYTES:
        raise CheckSkipped(
            f"[async] max_request_mb = {limit_mb:g} is within InvokeEndpoint's 6 MB, which SRV-9 judges already"
        )
    sent_mb = min(limit_mb, LARGEST_SENT_MB)
    if sent_mb < limit_mb:
        ctx.note(f"the declared {limit_mb:g} MB is tried at {sent_mb:g} MB, the most the harness sends")
    body = sized_payload(ctx, int(sent_mb * contract.MEGABYTE))
    exchange = invoke(ctx, ctx.server(), body, name="async-large")
    ctx.measure("async_large_payload_seconds", exchange.elapsed)
    hint = (
        "Hint",
        "nginx's client_max_body_size must be at least the declared size (the reference stack's follows "
        "SAGEMAKER_MAX_PAYLOAD_IN_MB).",
    )
    for violation in accepted(exchange, f"{len(body):,} bytes, [async] max_request_mb = {limit_mb:g}"):
        yield Violation(
            violation.summary,
            expected=violation.expected,
            actual=violation.actual,
            evidence=(*violation.evidence, hint) if exchange.status == 413 else violation.evidence,
            reproduce=violation.reproduce,
        )
