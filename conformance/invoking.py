"""POST /invocations as a client of the service sends it, the payloads it sends, and the violation one exchange shows.

What the serving, environment and batch checks share: a check module never imports another, so it lives here.
"""

from __future__ import annotations

from collections.abc import Sequence

import requests

from conformance import codecs, contract
from conformance.context import CheckContext
from conformance.failures import Violation
from conformance.http import Exchange
from conformance.targets import Server

POLICY_ACCEPT = "policy"
"""``accept=POLICY_ACCEPT``: send the policy's ``accept`` when it declares one (what most clauses send), else the HTTP
library's default ``*/*``."""
NO_ACCEPT = ""
"""``accept=NO_ACCEPT``: send no Accept header at all (not even the HTTP library's default ``*/*``)."""
POLICY_ACCEPT_ONLY = "policy-only"
"""``accept=POLICY_ACCEPT_ONLY``: the policy's ``accept`` when it declares one, else no Accept header at all (how the
batch transform and response-size clauses send)."""


def output_media_type(ctx: CheckContext) -> str:
    """The media type the policy declares for answers: its ``accept``, else the request's own media type."""
    return codecs.media_type(ctx.policy.accept or ctx.policy.content_type)


def invocation_headers(
    ctx: CheckContext, *, accept: str = POLICY_ACCEPT, content_type: str | None = None
) -> dict[str, str]:
    """The headers of an invocation: the policy's Content-Type (or ``content_type``) and the Accept asked for."""
    headers = {"Content-Type": content_type or ctx.policy.content_type}
    wanted = ctx.policy.accept if accept in (POLICY_ACCEPT, POLICY_ACCEPT_ONLY) else accept
    if wanted:
        headers["Accept"] = wanted
    return headers


def invoke(
    ctx: CheckContext,
    server: Server,
    body: bytes,
    *,
    accept: str = POLICY_ACCEPT,
    content_type: str | None = None,
    headers: dict[str, str] | None = None,
    name: str = "payload",
    path: str = contract.INVOCATIONS_PATH,
    timeout: float | None = None,
) -> Exchange:
    """POST /invocations (or ``path``) as a client of the service sends it (:func:`invocation_headers`, plus
    ``headers``), the body kept on disk so that the failure can be replayed with curl."""
    sent = {**invocation_headers(ctx, accept=accept, content_type=content_type), **(headers or {})}
    session = None
    if "Accept" not in sent and accept in (NO_ACCEPT, POLICY_ACCEPT_ONLY):
        session = requests.Session()
        # requests sends "Accept: */*" unless told not to: "absent" must really be absent.
        session.headers.pop("Accept", None)
    return server.request(
        "POST",
        path,
        body=body,
        headers=sent,
        timeout=timeout,
        session=session,
        payload_file=ctx.payload_file(f"{name}.body", body),
    )


def response_reader(ctx: CheckContext, exchange: Exchange) -> type[codecs.Codec]:
    """The codec that reads the response: its Content-Type's (else the policy's accept's, else lines); a JSON answer
    of a ``[document]`` image is one document."""
    return codecs.for_response(exchange.media_type, ctx.policy.accept, document=ctx.policy.document is not None)


def response_records(ctx: CheckContext, exchange: Exchange) -> list[str] | None:
    """The response's records, read by :func:`response_reader`."""
    return response_reader(ctx, exchange).output_records(exchange.body)


def request_media_type(ctx: CheckContext) -> str:
    return ctx.policy.content_type


def request_codec(ctx: CheckContext) -> codecs.Codec:
    """The request codec the policy's content_type chose, fitted to the test-dir's payload."""
    codec = ctx.test_dir.codec
    if codec is None:  # the test-dir was loaded for an image that does not serve
        codec = codecs.for_request(
            ctx.policy.content_type,
            ctx.test_dir.payload,
            header=ctx.policy.csv_header,
            document=ctx.policy.document.shape if ctx.policy.document else None,
        )
    return codec


def payload_records(ctx: CheckContext) -> list[bytes]:
    return list(ctx.test_dir.records) or (request_codec(ctx).split(ctx.test_dir.payload) or [])


def healthy_ping(exchange: Exchange) -> bool:
    """200 within SageMaker's 2 s: a ping the health check counts as healthy (SRV-2, SRV-13)."""
    return exchange.status == 200 and exchange.elapsed < contract.PING_TIMEOUT_S


def curl(exchange: Exchange, port: int = contract.PORT) -> tuple[str, ...]:
    return (exchange.curl(port),)


def exchange_violation(
    exchange: Exchange, summary: str, *, expected: str, actual: str | None = None, port: int = contract.PORT
) -> Violation:
    """A violation seen in one HTTP exchange: the request and response as evidence, and curl to replay it.
    Actual defaults to the response's status (or the transport error)."""
    return Violation(
        summary,
        expected=expected,
        actual=exchange.describe() if actual is None else actual,
        evidence=exchange.evidence(),
        reproduce=curl(exchange, port),
    )


def sized_payload(ctx: CheckContext, size: int) -> bytes:
    """The test-dir's records repeated to about ``size`` bytes, framed as the payload is (CSV header row, JSON
    envelope)."""
    return request_codec(ctx).sized(payload_records(ctx), size)


def records_in(ctx: CheckContext, body: bytes) -> int:
    return request_codec(ctx).count(body) or 0


def round_trip_violations(
    ctx: CheckContext, exchange: Exchange, body: bytes, case: str, expected_records: Sequence[str] | None = None
) -> list[Violation]:
    """SRV-4's rule for one request: 200, a Content-Type, one record out per record in (in order)."""
    found = []
    if exchange.status != 200:
        found.append(
            exchange_violation(
                exchange,
                f"/invocations did not answer 200 ({case})",
                expected="200",
            )
        )
        return found
    if not exchange.headers.get("content-type"):
        found.append(
            exchange_violation(
                exchange,
                f"The response has no Content-Type ({case}); InvokeEndpoint passes it to the client",
                expected="a Content-Type header, e.g. text/csv",
                actual="none",
            )
        )
    accept = ctx.policy.accept
    if accept and exchange.media_type and exchange.media_type != codecs.media_type(accept):
        found.append(
            exchange_violation(
                exchange,
                f"The response is not in the media type the Accept header asked for ({case})",
                expected=f"Content-Type {codecs.media_type(accept)} (the policy's accept)",
                actual=f"Content-Type {exchange.headers.get('content-type')}",
            )
        )
    reader = response_reader(ctx, exchange)
    records = reader.output_records(exchange.body)
    wanted = records_in(ctx, body)
    if expected_records is not None:
        expected_records = [reader.canonical(record) for record in expected_records]
    if records is None or len(records) != wanted:
        actual = f"a body that does not parse as {reader.name}" if records is None else f"{len(records)} records"
        found.append(
            exchange_violation(
                exchange,
                f"The response does not have one record per input record ({case})",
                expected=f"{wanted} records ({request_codec(ctx).name} in, counted as {reader.name} out)",
                actual=actual,
            )
        )
    elif expected_records is not None and list(records) != list(expected_records):
        first = next(i for i, (a, b) in enumerate(zip(records, expected_records, strict=True)) if a != b)
        found.append(
            exchange_violation(
                exchange,
                f"The response's records are not the expected ones, in order ({case})",
                expected=f"record {first + 1}: {expected_records[first]!r}",
                actual=f"record {first + 1}: {records[first]!r}",
            )
        )
    return found


def accepted(exchange: Exchange, case: str) -> list[Violation]:
    """The rule for clauses that judge acceptance only (SRV-9, SRV-14, ENV-4): a 200; SRV-4 judges the records."""
    if exchange.status == 200:
        return []
    return [
        exchange_violation(
            exchange,
            f"/invocations did not answer 200 ({case})",
            expected="200",
        )
    ]


def baseline(ctx: CheckContext, server: Server) -> tuple[Exchange, list[str] | None]:
    """The answer to the test-dir's payload as it is, and its records when they line up with the input."""
    exchange = invoke(ctx, server, ctx.test_dir.payload)
    again = invoke(ctx, server, ctx.test_dir.payload)
    records = response_records(ctx, exchange) if exchange.status == 200 else None
    if records is not None and len(records) != records_in(ctx, ctx.test_dir.payload):
        records = None
    if again.body != exchange.body:
        # A nondeterministic model (SRV-15's business): other clauses compare shapes, never contents.
        records = None
    return exchange, records


def same_answer(ctx: CheckContext, first: Exchange, second: Exchange, deterministic: bool) -> bool:
    """Equal bodies for a deterministic model; equal status, media type and record count otherwise."""
    if deterministic:
        return (first.status, first.body) == (second.status, second.body)
    counts = (len(response_records(ctx, first) or []), len(response_records(ctx, second) or []))
    return first.status == second.status and first.media_type == second.media_type and counts[0] == counts[1]
