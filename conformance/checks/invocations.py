"""SRV: /invocations answers the test-dir's payload, and the variations SageMaker sends, as the model would."""

from __future__ import annotations

from collections.abc import Iterator

from conformance import codecs, contract
from conformance.context import CheckContext
from conformance.failures import Violation, shorten
from conformance.generation import generated_violations
from conformance.invoking import (
    baseline,
    curl,
    exchange_violation,
    invoke,
    payload_records,
    request_codec,
    request_media_type,
    round_trip_violations,
    same_answer,
)
from conformance.registry import Level, check


@check(
    "SRV-4",
    Level.MUST,
    "POST /invocations round-trips the payload, one record out per record in",
    source=contract.DG_INF,
)
def invocations_round_trip(ctx: CheckContext) -> Iterator[Violation]:
    """`POST /invocations` with the test-dir's payload returns 200, a Content-Type, and exactly one output record
    per input record, in order: also for the same records written the other ways their media type allows (CSV
    and JSON Lines: without a trailing newline, with CRLF line ends; JSON: spaced, indented) and for a single
    record. Records are counted per media type: CSV and JSON Lines, non-blank lines (a declared CSV header row
    is none); JSON, the items of the request's array (the document, or `instances`, `inputs`,
    `dataframe_records`, `dataframe_split.data`) and of the response's (the document, or `predictions`). With
    `accept` in the policy, the response is in that media type.

    Also for generated payloads built from the test-dir's records (shuffled, repeated, renotated, re-spaced).

    Why: InvokeEndpoint and batch transform pass the body to /invocations as it is, and batch transform splits files
    into mini-batches of lines and joins the answers line by line. A server that drops an unterminated last line,
    adds a header row or reorders records misaligns every prediction with its input, silently.

    How: POSTs the test-dir's payload in each of the variants above and --max-examples payloads that hypothesis
    builds from its records (as many as --property-budget seconds allow; how many is measured), through the codec
    of the policy's media type; each answer must be a 200 with a Content-Type and one record per input record, in
    order (equal to expected_output.csv when the test-dir has one). A failing generated body is shrunk and kept on
    disk for curl.
    """
    server = ctx.server()
    payload = ctx.test_dir.payload
    if ctx.policy.csv_header:
        ctx.note("the image needs a CSV header row: batch transform would lose a row of every mini-batch it sends")
    first, outputs = baseline(ctx, server)
    expected = list(ctx.test_dir.expected_output) if ctx.test_dir.expected_output else outputs
    yield from round_trip_violations(ctx, first, payload, "the test-dir's payload", ctx.test_dir.expected_output)
    codec, records = request_codec(ctx), payload_records(ctx)
    for case, body in codec.variants(records).items():
        exchange = invoke(ctx, server, body, name=case.replace(" ", "-").replace(",", ""))
        wanted = expected[:1] if case == codecs.SINGLE and expected else expected
        yield from round_trip_violations(ctx, exchange, body, case, wanted)
    if outputs is None:
        return

    def judge(example: codecs.Generated) -> list[Violation]:
        exchange = invoke(ctx, server, example.body, name="generated-valid")
        return round_trip_violations(
            ctx, exchange, example.body, f"generated: {example.description}", [outputs[i] for i in example.sources]
        )

    yield from generated_violations(ctx, codec.valid_payloads(records), judge)


@check(
    "SRV-5",
    Level.SHOULD,
    "Media-type parameters are understood (text/csv; charset=utf-8)",
    source=contract.DG_INF,
    replica=True,
)
def media_type_parameters(ctx: CheckContext) -> Iterator[Violation]:
    """Media-type parameters are understood: the policy's content type with `; charset=utf-8` (`text/csv;
    charset=utf-8`, `application/json; charset=utf-8`) is accepted like the type alone.

    Why: Clients and SageMaker's own formats send media types with parameters (`; charset=utf-8` from HTTP
    libraries, `text/csv;label_size=0`). A server that compares the whole Content-Type string rejects valid
    requests.

    How: POSTs the test-dir's payload with `; charset=utf-8` added to its content type and requires the same 200 and
    the same body as without it.
    """
    server = ctx.server()
    first, outputs = baseline(ctx, server)
    content_type = f"{request_media_type(ctx)}; charset=utf-8"
    exchange = invoke(ctx, server, ctx.test_dir.payload, content_type=content_type)
    if exchange.status != 200 or not same_answer(ctx, first, exchange, outputs is not None):
        yield exchange_violation(
            exchange,
            f"Content-Type '{content_type}' is not treated like '{request_media_type(ctx)}'",
            expected=f"{first.describe()} and the same body as for '{request_media_type(ctx)}'",
            actual=exchange.describe() + ("" if exchange.status != 200 else ", a different body"),
        )


@check("SRV-6", Level.SHOULD, "An unsupported Content-Type gets a 4xx (415 preferred)", source=contract.DG_INF)
def unsupported_media_type_rejected(ctx: CheckContext) -> Iterator[Violation]:
    """An unsupported Content-Type gets a 4xx (415 preferred), never a 200 or a 5xx.

    Why: InvokeEndpoint hands a container's 4xx to the caller as a ModelError reading "Received client error (415)
    from model", a 5xx as "Received server error (500)", and a 200 as a prediction made from bytes the model could
    not read. Only a 4xx (415 Unsupported Media Type) tells the caller that the request, not the model, is wrong.

    How: POSTs the test-dir's payload with media types no CSV model accepts
    (application/x-sagemaker-conformance-unsupported, image/png) and requires a 4xx for each.
    """
    server = ctx.server()
    for content_type in contract.UNSUPPORTED_CONTENT_TYPES:
        exchange = invoke(ctx, server, ctx.test_dir.payload, content_type=content_type, name="unsupported")
        if exchange.status is None or not 400 <= exchange.status < 500:
            yield exchange_violation(
                exchange,
                f"Content-Type '{content_type}' was not rejected as a client error",
                expected="a 4xx, preferably 415 Unsupported Media Type",
            )
        elif exchange.status != 415:
            ctx.note(f"{content_type}: {exchange.status} (415 is preferred)")


@check(
    "SRV-10",
    Level.MUST,
    "Extra headers SageMaker adds do not change the response",
    source=contract.DG_INF,
    replica=True,
)
def extra_headers_ignored(ctx: CheckContext) -> Iterator[Violation]:
    """Extra headers that SageMaker adds (X-Amzn-SageMaker-*, a 1024-character custom attribute, X-Amzn-Trace-Id)
    do not change the response.

    Why: AWS documents that SageMaker may add headers to the requests it forwards and that containers must safely
    ignore them. A proxy with small header buffers answers a 1024-character custom attribute with a 400 or a 494.

    How: POSTs the test-dir's payload with the headers SageMaker adds (X-Amzn-SageMaker-Target-Variant,
    -Inference-Id, -Enable-Explanations, a 1024-character -Custom-Attributes, X-Amzn-Trace-Id, X-Forwarded-For) and
    requires the same answer as without them.
    """
    server = ctx.server()
    first, outputs = baseline(ctx, server)
    exchange = invoke(ctx, server, ctx.test_dir.payload, headers=dict(contract.SAGEMAKER_HEADERS), name="headers")
    if not same_answer(ctx, first, exchange, outputs is not None):
        yield exchange_violation(
            exchange,
            "The headers SageMaker adds changed the response",
            expected=f"{first.describe()} with the same body as without them",
            actual=exchange.describe() + ("" if exchange.status != first.status else ", a different body"),
        )


@check("SRV-15", Level.SHOULD, "The same payload twice gives the same output", source=contract.DG_BATCH, replica=True)
def retry_safe(ctx: CheckContext) -> Iterator[Violation]:
    """The same payload twice gives the same output (retry-safe: batch transform retries invocations).

    Why: Batch transform retries a failed invocation (InvocationsMaxRetries, 3 by default) and clients retry
    timeouts. A server whose answer depends on earlier requests gives the retried records other predictions.

    How: POSTs the test-dir's payload twice and requires the same status and the same body.
    """
    server = ctx.server()
    first = invoke(ctx, server, ctx.test_dir.payload)
    second = invoke(ctx, server, ctx.test_dir.payload)
    if (first.status, first.body) != (second.status, second.body):
        yield Violation(
            "Two identical invocations gave different answers",
            expected=f"{first.describe()} with {shorten(first.body, 200)}",
            actual=f"{second.describe()} with {shorten(second.body, 200)}",
            reproduce=curl(second),
        )
