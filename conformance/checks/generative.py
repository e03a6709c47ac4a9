"""SRV: generative models: one JSON document per request (SRV-21) and streamed answers (SRV-22..SRV-24)."""

from __future__ import annotations

from collections.abc import Iterator

from conformance import codecs, contract, streams
from conformance.codecs.json_codec import compact, loads
from conformance.context import CheckContext
from conformance.failures import CheckSkipped, DependencyFailed, Violation
from conformance.generation import generated_violations
from conformance.http import Exchange
from conformance.invoking import exchange_violation, invocation_headers, invoke, request_codec
from conformance.registry import Level, check
from conformance.targets import Server
from conformance.testdir import Document, Streaming
from conformance.wire import Request, Streamed


def _document(ctx: CheckContext) -> tuple[Document, codecs.DocumentCodec]:
    document = ctx.policy.document
    if document is None or not ctx.policy.serves:
        raise CheckSkipped(
            "the image does not claim the capability: its policy declares no [document] (it takes records, not one "
            "JSON document)"
        )
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


# --- streamed answers (SRV-22..SRV-24) ------------------------------------------------------------------------------


def _streaming(ctx: CheckContext) -> Streaming:
    if ctx.policy.streaming is None or not ctx.policy.serves:
        raise CheckSkipped("the image does not claim the capability: its policy declares no [streaming]")
    return ctx.policy.streaming


def stream_request(ctx: CheckContext, streaming: Streaming, body: bytes | None = None) -> Request:
    """A call that asks for a stream the way the policy says: its Accept, and its body members merged into the
    document (the test-dir's payload unless ``body`` is given)."""
    document = body if body is not None else ctx.test_dir.payload
    if streaming.body:  # testdir.load allows body members only with [document]: the body is a JSON document
        try:
            parsed = loads(document)
            document = compact({**parsed, **streaming.body} if isinstance(parsed, dict) else parsed)
        except codecs.CodecError:
            pass  # a body that is not JSON is sent as it is
    headers = invocation_headers(ctx)
    if streaming.accept:
        headers["Accept"] = streaming.accept
    return ("POST", contract.INVOCATIONS_PATH, document, headers)


def _streamed(ctx: CheckContext, server: Server, request: Request, name: str) -> Streamed:
    streamed = server.stream(request, payload_file=ctx.payload_file(f"{name}.body", request[2]))
    if streamed is None:
        raise CheckSkipped("the harness reaches this server only through a probe container, which cannot stream")
    return streamed


def buffered(first: float, last: float) -> bool:
    """The parts of a stream came together: its first part only in the second half of the time to its last, in an
    answer long enough (``contract.STREAM_MIN_SPAN_S``) to tell streaming from buffering."""
    return last >= contract.STREAM_MIN_SPAN_S and first > contract.STREAM_FIRST_EVENT_SHARE * last


def _curl_stream(exchange: Exchange) -> tuple[str, ...]:
    """curl with --no-buffer, so that the events show as they come, and the headers (-i)."""
    return (exchange.curl(contract.PORT).replace("curl -sS -i", "curl -sS -i --no-buffer", 1),)


def _stream_violation(exchange: Exchange, summary: str, *, expected: str, actual: str) -> Violation:
    return Violation(
        summary, expected=expected, actual=actual, evidence=exchange.evidence(), reproduce=_curl_stream(exchange)
    )


@check(
    "SRV-22",
    Level.CONDITIONAL,
    "A streamed answer streams: chunked, no Content-Length, its first event well before its last ([streaming] images)",
    source=contract.API_STREAM,
)
def answer_streams(ctx: CheckContext) -> Iterator[Violation]:
    """A call that asks for a stream the way the policy's `[streaming]` says (its `accept`, its `body` members) is
    answered 200 with HTTP/1.1 chunked transfer encoding and no Content-Length, and its first event arrives well
    before its last: within the first half of the time to the last byte. The time to the first byte is reported.

    Why: InvokeEndpointWithResponseStream hands the caller the container's answer "incrementally as a series of
    parts" as the container sends them. An answer with a Content-Length was built whole before it was sent, and a
    proxy that buffers the answer (nginx with `proxy_buffering on`, the default, unless the answer says
    `X-Accel-Buffering: no`) delivers every event at once at the end: the caller waits for the whole generation,
    which is what streaming was for.

    How: Sends the test-dir's payload as a streamed call on a fresh connection and reads the answer as it arrives
    (`http.client`, part by part, each timed from the request); requires a 200, `Transfer-Encoding: chunked`, no
    Content-Length, and, when the answer takes at least 0.2 s, its first part before half the time to its last
    (a shorter answer cannot show the difference, and a note says so). A stream whose parts came together is
    streamed again with the other checks paused before it fails: a busy host that delays the whole answer of a fast
    generator bunches its parts too.
    """
    streaming = _streaming(ctx)
    server = ctx.server()
    streamed = _streamed(ctx, server, stream_request(ctx, streaming), "stream")
    exchange = streamed.exchange
    if exchange.status != 200 or exchange.error:
        yield _stream_violation(
            exchange,
            "A streamed call was not answered 200 with a whole stream",
            expected="200 and a stream that ends",
            actual=exchange.error or exchange.describe(),
        )
        return
    first, last = streamed.first_byte, streamed.last_byte
    if first is not None and last is not None and buffered(first, last):
        # A host that delays the whole answer makes an instant generator's parts arrive together too: measure again
        # with the other checks paused before blaming the image (issue 23).
        load = ctx.record_load()
        ctx.note(
            f"the first part came at {first:.3f} s of {last:.3f} s ({load.describe()}): streamed again with the "
            "other checks paused"
        )
        with ctx.certification.quiet(ctx.clause_id):
            again = _streamed(ctx, server, stream_request(ctx, streaming), "stream-quiet")
        if again.exchange.status == 200 and not again.exchange.error:
            streamed, exchange = again, again.exchange
            first, last = streamed.first_byte, streamed.last_byte
            ctx.record_load()
    if first is not None and last is not None:
        ctx.measure("stream_first_byte_seconds", first)
        ctx.measure("stream_seconds", last)
    length = exchange.headers.get("content-length")
    if not streamed.chunked or length is not None:
        yield _stream_violation(
            exchange,
            "The streamed answer is not sent with chunked transfer encoding",
            expected="Transfer-Encoding: chunked and no Content-Length (HTTP/1.1)",
            actual=f"{streamed.version}, Transfer-Encoding: {exchange.headers.get('transfer-encoding', 'none')}, "
            f"Content-Length: {length or 'none'}",
        )
    if first is None or last is None:
        return
    if last < contract.STREAM_MIN_SPAN_S:
        ctx.note(
            f"the streamed answer took {last:.3f} s: too short to tell streaming from buffering (ask for more tokens "
            "in the test-dir's payload)"
        )
        return
    if buffered(first, last):
        timeline = "\n".join(f"{at:.3f} s: {len(data)} bytes" for at, data in streamed.parts[:20])
        yield Violation(
            "The streamed answer's first event came only with its last: something buffers the stream",
            expected=f"the first part within {contract.STREAM_FIRST_EVENT_SHARE:.0%} of the time to the last "
            f"({contract.STREAM_FIRST_EVENT_SHARE * last:.3f} s)",
            actual=f"first part at {first:.3f} s, last at {last:.3f} s ({len(streamed.parts)} part(s))",
            evidence=(
                *exchange.evidence(),
                ("Parts as they arrived", timeline),
                *ctx.load_evidence(),
                (
                    "Hint",
                    "nginx buffers proxied answers unless `proxy_buffering off;` or the answer says "
                    "`X-Accel-Buffering: no`.",
                ),
            ),
            reproduce=_curl_stream(exchange),
        )


@check(
    "SRV-23",
    Level.CONDITIONAL,
    "A streamed answer's frames are of the declared type and add up to the answer ([streaming] images)",
    source=contract.API_STREAM,
    needs=("SRV-22",),
)
def stream_frames(ctx: CheckContext) -> Iterator[Violation]:
    """A streamed answer is framed as the policy's `[streaming] format` says: Server-Sent Events (`data:` events,
    each ended by a blank line, Content-Type text/event-stream) or JSON Lines (one JSON document per line), with at
    least one frame of text (at `[streaming] text` in each frame's JSON, or the frame's data itself). When the
    policy says the model is `deterministic`, the frames' texts joined are the non-streamed answer's text (at
    `[document] answer_text`).

    Why: InvokeEndpointWithResponseStream passes the container's bytes on in parts that need not end where an event
    ends: the caller's code (the SageMaker Python SDK's, LangChain's, a browser's EventSource) finds the events by
    their framing. Tokens sent bare, without `data:` and the blank line, are one undelimited string to every SSE
    parser; and frames whose text differs from the non-streamed answer mean the two calls serve different models.

    How: Reads the streamed answer of SRV-22's call, splits it as the declared format (an SSE line that is no
    `data:`, `event:`, `id:` or `retry:` field, or a JSON Lines line that is not JSON, is a violation), takes
    each frame's text (the `[DONE]` terminator and error frames aside), and, for a deterministic model, compares
    their join with the text of a non-streamed call of the same payload.
    """
    streaming = _streaming(ctx)
    server = ctx.server()
    streamed = _streamed(ctx, server, stream_request(ctx, streaming), "stream")
    exchange = streamed.exchange
    if exchange.status != 200 or exchange.error:
        raise DependencyFailed("SRV-22", f"the streamed call got {exchange.error or exchange.describe()}")
    allowed = streams.MEDIA_TYPES[streaming.format]
    if exchange.media_type not in allowed:
        yield _stream_violation(
            exchange,
            "The streamed answer's Content-Type is not its declared format's",
            expected=f"Content-Type {' or '.join(allowed)} ([streaming] format = {streaming.format!r})",
            actual=f"Content-Type {exchange.headers.get('content-type', 'none')}",
        )
    framing = streams.read(exchange.body, streaming.format)
    kind = (
        "Server-Sent Events (data: lines, a blank line after each event)"
        if streaming.format == streams.SSE
        else "JSON Lines"
    )
    if framing.stray is not None or not framing.frames:
        yield _stream_violation(
            exchange,
            f"The streamed answer is not framed as {kind}",
            expected=f"every line a field of {kind}, and at least one frame",
            actual=f"the line {framing.stray!r}" if framing.stray is not None else "no frame at all",
        )
        return
    texts = [streams.frame_text(frame, streaming.text) for frame in streams.text_frames(framing)]
    if not any(text is not None for text in texts):
        where = f"at {streaming.text!r} in each frame's JSON" if streaming.text else "as each frame's data"
        yield _stream_violation(
            exchange,
            "No frame of the streamed answer carries text where the policy says",
            expected=f"a string {where} ([streaming] text)",
            actual=f"{len(framing.frames)} frame(s), the first: {framing.frames[0].data[:200]!r}",
        )
        return
    document = ctx.policy.document
    if not streaming.deterministic or document is None:
        return
    whole = invoke(ctx, server, ctx.test_dir.payload, name="not-streamed")
    expected = answer_text(whole.body, document.answer_text) if whole.status == 200 else None
    if expected is None:
        raise DependencyFailed("SRV-21", f"the non-streamed call got {whole.describe()} without its text")
    joined = "".join(text for text in texts if text is not None)
    if joined != expected:
        yield Violation(
            "The streamed frames do not add up to the non-streamed answer of the same payload",
            expected=f"{expected[:300]!r} (the non-streamed answer's text; [streaming] deterministic = true)",
            actual=f"{joined[:300]!r} (the {len(texts)} frames' texts joined)",
            evidence=(*exchange.evidence(), *whole.evidence()),
            reproduce=(*_curl_stream(exchange), whole.curl(contract.PORT)),
        )


@check(
    "SRV-24",
    Level.CONDITIONAL,
    "A streamed call that fails says so: a 4xx before the stream, or an error frame in it ([streaming] images)",
    source=contract.API_STREAM,
    needs=("SRV-22",),
)
def stream_errors(ctx: CheckContext) -> Iterator[Violation]:
    """A streamed call that fails says so in a way its caller can read: a 4xx (or 5xx) status before the stream
    starts, or, once a 200 has been sent, an error frame of the declared format (an SSE `event: error`, or a frame
    whose JSON has an `error` member) followed by the stream's proper end. A 200 stream that ends without any
    frame, or one cut off without its last chunk, loses the error.

    Why: Once the status line is sent, a streamed answer can no longer change it: the only way left to report an
    error is inside the stream. A generator that raises after the headers ends the answer with nothing in it, or
    cuts the connection: InvokeEndpointWithResponseStream's caller sees an empty answer, or a `StreamBroken`
    error it cannot tell from a network fault, and retries a request that will fail again.

    How: Asks for a stream for the fixed corrupted documents of SRV-21 (the shape's member missing, of a wrong
    type; for a `[document]` image) and an empty body; each must get a 4xx, or a 200 stream that ends properly
    and holds an error frame.
    """
    streaming = _streaming(ctx)
    server = ctx.server()
    cases = {"an empty body": b""}
    document = ctx.policy.document
    if document is not None:
        codec = request_codec(ctx)
        assert isinstance(codec, codecs.DocumentCodec)
        cases |= {case: body for case, body in codec.shape_defects().items() if not codec.is_request(body)}
    for case, body in cases.items():
        streamed = _streamed(ctx, server, stream_request(ctx, streaming, body), "failing-stream")
        exchange = streamed.exchange
        if exchange.status is not None and exchange.status != 200 and not exchange.error:
            continue  # refused before the stream: the status says it
        framing = streams.read(exchange.body, streaming.format)
        errors = [frame for frame in framing.frames if frame.is_error]
        if exchange.status == 200 and not exchange.error and errors:
            continue
        actual = (
            f"the stream was cut off ({exchange.error}) after {len(exchange.body)} bytes"
            if exchange.error
            else f"{exchange.describe()} with {len(framing.frames)} frame(s), none an error"
        )
        yield _stream_violation(
            exchange,
            f"A failing streamed call ({case}) did not report its error",
            expected="a 4xx before the stream, or a 200 stream that holds an error frame and ends properly",
            actual=actual,
        )
        return
