"""SRV: malformed and large payloads: a 4xx, not a 5xx, a healthy server after them, and no proxy limit under 6 MB."""

from __future__ import annotations

from collections.abc import Iterator

from conformance import codecs, contract
from conformance.context import CheckContext
from conformance.failures import DependencyFailed, Violation
from conformance.generation import generated_violations
from conformance.http import Exchange
from conformance.invoking import (
    accepted,
    curl,
    exchange_violation,
    invoke,
    payload_records,
    request_codec,
    request_media_type,
    sized_payload,
)
from conformance.registry import Level, check
from conformance.targets import Server


def malformed_cases(ctx: CheckContext) -> dict[str, bytes]:
    """The fixed malformed bodies of the request's media type: an empty body, wrong widths, a non-number, and
    what breaks the media type's own syntax."""
    return request_codec(ctx).malformed_cases(payload_records(ctx))


def _rejects(exchange: Exchange, case: str) -> list[Violation]:
    if exchange.status is not None and 400 <= exchange.status < 500:
        return []
    return [
        exchange_violation(
            exchange,
            f"A malformed payload ({case}) was not rejected as a client error",
            expected="a 4xx with a reason (400 Bad Request), never a 5xx or a 200",
        )
    ]


@check("SRV-7", Level.SHOULD, "Malformed payloads get a 4xx, not a 5xx", source=contract.DG_INF, needs=("SRV-8",))
def malformed_payloads_rejected(ctx: CheckContext) -> Iterator[Violation]:
    """Malformed payloads of the request's media type (an empty body, a wrong number of fields, a non-numeric
    field; JSON cut short; a JSON Lines line that is not JSON) get a 4xx, not a 5xx.

    Also for generated ones: wrong widths, non-numeric fields, invalid UTF-8, and per media type stray CSV
    quotes, truncated JSON documents or JSON Lines records.

    Why: A 5xx tells the caller, the endpoint's metrics and its alarms that the model server broke, and batch
    transform retries it; a 4xx says that the request was wrong, which it was.

    How: POSTs the media type's fixed malformed bodies and --max-examples generated ones (as many as
    --property-budget seconds allow; how many is measured), built by the policy's codec; each must get a 4xx.
    """
    server = ctx.server()
    for case, body in malformed_cases(ctx).items():
        exchange = invoke(ctx, server, body, name=case.replace(" ", "-"))
        if exchange.status is not None and exchange.status >= 500 and not (server.running() and server.healthy()):
            # The server went down (SRV-8's finding): its proxy's 5xx says nothing of how it judges input.
            raise DependencyFailed("SRV-8", f"the server stopped answering after a malformed payload ({case})")
        yield from _rejects(exchange, case)

    def judge(example: codecs.Generated) -> list[Violation]:
        return _rejects(
            invoke(ctx, server, example.body, name="generated-malformed"), f"generated: {example.description}"
        )

    yield from generated_violations(ctx, request_codec(ctx).malformed_payloads(payload_records(ctx)), judge)


def _healthy_after(ctx: CheckContext, server: Server, bad: Exchange, case: str) -> list[Violation]:
    if not server.running():
        return [
            Violation(
                f"The container died after a bad request ({case})",
                expected="the container keeps running",
                actual=f"exited with code {server.exit_code()}",
                evidence=bad.evidence(),
                reproduce=curl(bad),
            )
        ]
    # The 2 s limit is SRV-2's and SRV-13's to judge; here only whether the server still answers.
    ping = server.request("GET", contract.PING_PATH, timeout=10)
    good = invoke(ctx, server, ctx.test_dir.payload)
    found = []
    for what, after in (("/ping is not healthy", ping), ("A valid invocation failed", good)):
        if after.status != 200:
            found.append(
                Violation(
                    f"{what} right after a bad request ({case})",
                    expected="200",
                    actual=after.describe(),
                    evidence=bad.evidence() + after.evidence(),
                    reproduce=curl(bad) + curl(after),
                )
            )
    return found


@check("SRV-8", Level.MUST, "After any bad request the server is still healthy", source=contract.DG_INF)
def healthy_after_bad_requests(ctx: CheckContext) -> Iterator[Violation]:
    """After any bad request the server is still healthy: `/ping` 200 and a valid invocation still succeeds
    (no dead worker, no wedged container).

    Why: SageMaker routes traffic to an instance as long as its /ping answers 200. A worker that dies on a bad
    request, or a server wedged by one, keeps the instance in service while every later request fails.

    How: Sends the bad requests of SRV-6 and SRV-7 and generated malformed bodies (--max-examples, within
    --property-budget seconds; how many is measured); after each, GET /ping must answer 200 and the test-dir's
    payload must still get a 200.
    """
    server = ctx.server()
    bad_requests = {f"Content-Type {ct}": (ctx.test_dir.payload, ct) for ct in contract.UNSUPPORTED_CONTENT_TYPES}
    bad_requests |= {case: (body, request_media_type(ctx)) for case, body in malformed_cases(ctx).items()}
    for case, (body, content_type) in bad_requests.items():
        bad = invoke(ctx, server, body, content_type=content_type, name=case.replace(" ", "-"))
        found = _healthy_after(ctx, server, bad, case)
        yield from found
        if found and not server.running():
            return

    def judge(example: codecs.Generated) -> list[Violation]:
        bad = invoke(ctx, server, example.body, name="generated-malformed")
        return _healthy_after(ctx, server, bad, f"generated: {example.description}")

    yield from generated_violations(ctx, request_codec(ctx).malformed_payloads(payload_records(ctx)), judge)


@check(
    "SRV-9", Level.SHOULD, "A valid payload of about 6,000,000 bytes is accepted", source=contract.API_RT, replica=True
)
def large_payload_accepted(ctx: CheckContext) -> Iterator[Violation]:
    """A valid payload of about 6,000,000 bytes is accepted (no 413 from a proxy in front of the model): the
    test-dir's records repeated in the request's media type.

    Why: InvokeEndpoint accepts bodies up to 6,291,456 bytes (6 MiB), and batch transform sends mini-batches up to
    MaxPayloadInMB. nginx's default client_max_body_size of 1 MB (AWS's samples set 5m) refuses valid requests with
    a 413 before they reach the model.

    How: POSTs the test-dir's records repeated to about 6,000,000 bytes, rendered by the policy's codec, and
    requires a 200.
    """
    server = ctx.server()
    body = sized_payload(ctx, contract.LARGE_PAYLOAD_BYTES)
    exchange = invoke(ctx, server, body, name="large")
    ctx.measure("large_payload_seconds", exchange.elapsed)
    hint = ("Hint", "nginx's default client_max_body_size is 1m, and AWS's samples set 5m: raise it to 6m or more.")
    for violation in accepted(exchange, f"{len(body):,} bytes"):
        if exchange.status == 413:
            violation = Violation(
                "A valid payload InvokeEndpoint accepts was refused as too large (413)",
                expected=f"200 for {len(body):,} bytes (InvokeEndpoint allows {contract.MAX_REQUEST_BYTES:,})",
                actual=exchange.describe(),
                evidence=(*exchange.evidence(), hint),
                reproduce=violation.reproduce,
            )
        yield violation
