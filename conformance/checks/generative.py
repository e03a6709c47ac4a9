"""SRV: generative models: one JSON document per request (SRV-21) and streamed answers (SRV-22..SRV-24)."""

from __future__ import annotations

from collections.abc import Iterator

from conformance import codecs, contract
from conformance.codecs.json_codec import loads
from conformance.context import CheckContext
from conformance.failures import CheckSkipped, Violation
from conformance.generation import generated_violations
from conformance.http import Exchange
from conformance.invoking import exchange_violation, invoke, request_codec
from conformance.registry import Level, check
from conformance.testdir import Document


def _document(ctx: CheckContext) -> tuple[Document, codecs.DocumentCodec]:
    document = ctx.policy.document
    if document is None or not ctx.policy.serves:
        raise CheckSkipped("the policy declares no [document]: the image takes records, not one JSON document")
    codec = request_codec(ctx)
    assert isinstance(codec, codecs.DocumentCodec)  # testdir.load fits it to a [document] policy
    return document, codec


def answer_text(body: bytes, path: str) -> str | None:
    """The generated text at the policy's ``answer_text`` path of a JSON answer; None when there is none."""
    try:
        text = codecs.at_path(loads(body), path)
    except (codecs.CodecError, KeyError):
        return None
    return text if isinstance(text, str) else None


def _answer_violations(exchange: Exchange, document: Document) -> list[Violation]:
    where = f"at {document.answer_text!r}" if document.answer_text else "as the document"
    if exchange.status != 200:
        return [exchange_violation(exchange, "The payload's document was not answered 200", expected="200")]
    if answer_text(exchange.body, document.answer_text) is None:
        return [
            exchange_violation(
                exchange,
                "The answer is not one JSON document with the generated text where the policy says",
                expected=f"a JSON document with a string {where} ([document] answer_text)",
                actual=f"Content-Type {exchange.headers.get('content-type', 'none')}, "
                f"{'not JSON' if codecs.DocumentCodec.output_records(exchange.body) is None else 'no string there'}",
            )
        ]
    return []


def _refused(exchange: Exchange, case: str, codec: codecs.DocumentCodec) -> list[Violation]:
    """A 5xx is never right; a document without a usable text is refused with a 4xx. A wrongly typed parameter
    may also be ignored (a 2xx)."""
    status = exchange.status
    if status is not None and 400 <= status < 500:
        return []
    strict = not codec.is_request(exchange.request_body)
    if status is not None and status < 500 and not strict:
        return []
    expected = "a 4xx with a reason (400 or 422)" if strict else "a 4xx, or a 2xx that ignores it; never a 5xx"
    return [
        exchange_violation(
            exchange, f"A corrupted document ({case}) was not refused as a client error", expected=expected
        )
    ]


@check(
    "SRV-21",
    Level.CONDITIONAL,
    "One JSON document is one request: one document answers it, a corrupted one gets a 4xx ([document] images)",
    source=contract.API_RT,
)
def one_document_one_request(ctx: CheckContext) -> Iterator[Violation]:
    """A request that is one JSON document of the policy's `[document] shape` (`{"inputs": ..., "parameters": ...}`,
    `{"messages": [...]}` or `{"prompt": ...}`) is one request: it is answered 200 with one JSON document holding the
    generated text, a string, at `answer_text`. A document of that shape with its text missing or of a wrong type is
    refused with a 4xx; one with a wrongly typed parameter gets a 4xx or is answered, and neither ever gets a 5xx.

    SRV-4 judges the same document round trip (one document in, one out) and SRV-7 documents that are not JSON (an
    empty body, one cut short); this clause judges what is wrong with a document that parses.

    Why: InvokeEndpoint passes the caller's body to /invocations as it is; a text generator's callers send one JSON
    document per call, and a missing member or a string where a number belongs is the caller's mistake. A server
    that reads `body["inputs"]` or `range(parameters["max_new_tokens"])` without checking answers it with a 500,
    which the endpoint's metrics and alarms count as the model server failing.

    How: POSTs the test-dir's payload and requires a 200 whose JSON has a string at `answer_text`; then the fixed
    corrupted documents (without the shape's member, that member a number, the document inside an array, each
    number and object of the payload as a string) and --max-examples generated ones (a member removed, or replaced
    by a value of another type; within --property-budget seconds), each of which must get a 4xx (2xx allowed when
    only a parameter is wrong).
    """
    document, codec = _document(ctx)
    server = ctx.server()
    first = invoke(ctx, server, ctx.test_dir.payload, name="document")
    yield from _answer_violations(first, document)
    for case, body in codec.shape_defects().items():
        yield from _refused(invoke(ctx, server, body, name="corrupted-document"), case, codec)

    def judge(example: codecs.Generated) -> list[Violation]:
        exchange = invoke(ctx, server, example.body, name="generated-corrupted-document")
        return _refused(exchange, f"generated: {example.description}", codec)

    yield from generated_violations(ctx, codec.corrupted_documents(), judge)
