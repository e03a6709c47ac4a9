"""SRV: what /invocations answers beyond the records: the media type the client asked for (content negotiation) and
InvokeEndpoint's response size limit."""

from __future__ import annotations

from collections.abc import Iterator

from conformance import contract
from conformance.context import CheckContext
from conformance.failures import DependencyFailed, Violation
from conformance.invoking import (
    NO_ACCEPT,
    POLICY_ACCEPT_ONLY,
    exchange_violation,
    invoke,
    output_media_type,
    sized_payload,
)
from conformance.registry import Level, check


def _negotiation_cases(ctx: CheckContext) -> dict[str, str]:
    declared = output_media_type(ctx)
    return {
        f"Accept: {declared}": declared,
        f"Accept: {contract.ANY_MEDIA_TYPE}": contract.ANY_MEDIA_TYPE,
        "no Accept header": NO_ACCEPT,
    }


@check(
    "SRV-17",
    Level.MUST,
    "The response's Content-Type is the media type the client asked for",
    source=contract.API_RT,
    replica=True,
    needs=("SRV-4",),
)
def content_type_negotiated(ctx: CheckContext) -> Iterator[Violation]:
    """The response's Content-Type is the media type the client asked for: with `Accept` set to the policy's
    output type, to `*/*`, or absent, the answer is 200 labelled with the policy's output type (its `accept`, else
    the request's `content_type`).

    Level: MUST, because a wrong label is a wrong answer: InvokeEndpoint returns the container's Content-Type to
    the caller as the response's ContentType, and the SDK's deserializers and batch transform's consumers read the
    body by it.

    Why: The caller of InvokeEndpoint names the media type it wants in Accept and reads the body by the ContentType
    that comes back, which is the container's own Content-Type. A CSV body labelled text/html (a web framework's
    default) or application/json is read with the wrong parser, or refused, by every client that trusts the label.

    How: POSTs the test-dir's payload three times, with `Accept` set to the declared output type, to `*/*`, and with
    no Accept header at all; each must be a 200 whose Content-Type's media type (parameters aside) is the declared
    output type. A response with no Content-Type is SRV-4's finding.
    """
    server = ctx.server()
    declared = output_media_type(ctx)
    for case, accept in _negotiation_cases(ctx).items():
        exchange = invoke(ctx, server, ctx.test_dir.payload, accept=accept, name="negotiation")
        if exchange.status == 200 and not exchange.headers.get("content-type"):
            raise DependencyFailed("SRV-4", "the response has no Content-Type")
        if exchange.status != 200:
            yield exchange_violation(exchange, f"/invocations did not answer 200 ({case})", expected="200")
        elif exchange.media_type != declared:
            yield exchange_violation(
                exchange,
                f"The response is labelled with another media type than the one asked for ({case})",
                expected=f"Content-Type {declared} (the policy's {'accept' if ctx.policy.accept else 'content_type'})",
                actual=f"Content-Type {exchange.headers.get('content-type')}",
            )


@check(
    "SRV-18",
    Level.SHOULD,
    "An Accept the image cannot produce gets 406 Not Acceptable",
    source=contract.API_RT,
    replica=True,
)
def unproducible_accept_refused(ctx: CheckContext) -> Iterator[Violation]:
    """An `Accept` the image cannot produce (`application/x-sagemaker-conformance-unknown`) gets a 4xx, 406 Not
    Acceptable preferred; or, when the policy declares `accept_fallback = true`, a 200 in the declared output type.

    Level: SHOULD, because HTTP (RFC 9110) lets a server either refuse with 406 or ignore the header and answer its
    default; the policy declares which one the image does. What no image should do is answer 200 in a type the
    client did not ask for and the policy did not declare, or fail with a 5xx.

    Why: A client that asks InvokeEndpoint for a media type the model cannot write must learn it: a 406 reaches it
    as a client error that names the problem, while an undeclared 200 hands its deserializer a body it cannot read,
    and a 5xx counts against the endpoint's health and is retried by batch transform.

    How: POSTs the test-dir's payload with `Accept: application/x-sagemaker-conformance-unknown` and requires a 4xx
    (a note when it is not 406), or with `accept_fallback = true` a 200 labelled with the declared output type.
    """
    server = ctx.server()
    declared = output_media_type(ctx)
    exchange = invoke(
        ctx, server, ctx.test_dir.payload, accept=contract.UNPRODUCIBLE_ACCEPT, name="unproducible-accept"
    )
    status = exchange.status
    if status is not None and 400 <= status < 500:
        if status != 406:
            ctx.note(f"Accept {contract.UNPRODUCIBLE_ACCEPT}: {exchange.describe()} (406 Not Acceptable is preferred)")
        return
    fallback = ctx.policy.accept_fallback
    if status == 200 and fallback and exchange.media_type == declared:
        return
    expected = "406 Not Acceptable (or another 4xx)"
    if fallback:
        expected += f", or 200 with Content-Type {declared} (the policy's accept_fallback)"
    hint = (
        "Hint",
        "Answer 406 when no media type you can write matches Accept; if the image always answers its default type, "
        "declare accept_fallback = true in conformance.toml.",
    )
    violation = exchange_violation(
        exchange,
        "An Accept the image cannot produce was not refused",
        expected=expected,
        actual=f"{exchange.describe()}"
        + (f" with Content-Type {exchange.headers.get('content-type')}" if status == 200 else ""),
    )
    yield Violation(
        violation.summary,
        expected=violation.expected,
        actual=violation.actual,
        evidence=(*violation.evidence, hint),
        reproduce=violation.reproduce,
    )


# --- limits ------------------------------------------------------------------------------------------------------


@check(
    "SRV-19",
    Level.SHOULD,
    "The response to the largest valid payload fits InvokeEndpoint's 6,291,456-byte limit",
    source=contract.API_RT,
    replica=True,
    needs=("SRV-9",),
)
def response_within_limit(ctx: CheckContext) -> Iterator[Violation]:
    """The response to the largest valid payload (the test-dir's records repeated to at most 6,291,456 bytes)
    is at most 6,291,456 bytes, InvokeEndpoint's response limit; its size is reported.

    Why: InvokeEndpoint returns at most 6 MiB of body. A model whose answers are larger than its questions
    (probabilities for every class, the input echoed back, padding) answers a request InvokeEndpoint accepted with
    a response the service cannot return, and the caller gets an error for a valid request.

    How: POSTs the test-dir's records repeated in the policy's codec to the largest body at most 6,291,456 bytes, and
    measures the response's body (largest_response_bytes); it must not exceed 6,291,456 bytes. A payload the server
    refuses as too large is SRV-9's finding.
    """
    server = ctx.server()
    body = sized_payload(ctx, contract.MAX_REQUEST_BYTES)
    exchange = invoke(ctx, server, body, accept=POLICY_ACCEPT_ONLY, name="largest")
    if exchange.status == 413:
        raise DependencyFailed("SRV-9", f"the {len(body):,}-byte payload was refused as too large")
    if exchange.status != 200:
        yield exchange_violation(
            exchange, f"The largest valid payload ({len(body):,} bytes) was not answered 200", expected="200"
        )
        return
    size = len(exchange.body)
    ctx.measure("largest_response_bytes", size)
    if size > contract.MAX_RESPONSE_BYTES:
        yield Violation(
            "The response to the largest valid payload is larger than InvokeEndpoint can return",
            expected=f"at most {contract.MAX_RESPONSE_BYTES:,} bytes for a {len(body):,}-byte request",
            actual=f"{size:,} bytes",
            evidence=(
                exchange.evidence()[0],
                # As bytes: padding (blank lines, spaces) shows, where the lines themselves would hide it.
                ("Response", f"{exchange.describe()}, {size:,} bytes, beginning:\n{exchange.body[:300]!r}"),
            ),
            reproduce=(exchange.curl(contract.PORT),),
        )
