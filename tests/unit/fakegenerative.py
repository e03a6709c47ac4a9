"""Fake generative images: a text generator taking one JSON document per request and streaming its answer, a
server that closes kept-alive connections, and the bidirectional-streaming WebSocket (the GenAI clauses' unit
tests)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from conformance import contract
from conformance.http import Exchange
from conformance.targets.results import ImageInfo
from conformance.testdir import TestDir
from conformance.testdir import load as load_test_dir
from conformance.websocket import Frame, Opcode
from conformance.wire import Streamed

from .checkfakes import FakeImage, GoodImage, image_info, write_test_dir
from .fakeserver import FakeServer, Response

# --- generative models: one JSON document per request, streamed answers ------------------------------------------

DOCUMENT_POLICY = (
    'content_type = "application/json"\naccept = "application/json"\npayload = "payload.json"\n\n'
    '[document]\nshape = "inputs"\nanswer_text = "generated_text"\n'
)
DOCUMENT = {"inputs": "once upon", "parameters": {"max_new_tokens": 6}}
TOKENS = (" a", " time", " there", " was", " a", " tree")


def document_test_dir(tmp_path: Path, extra: str = "", document: Any = None) -> TestDir:
    """A test-dir for a text generator: one ``{"inputs": ..., "parameters": ...}`` document per request."""
    body = json.dumps(DOCUMENT if document is None else document).encode()
    files = {"payload.json": body, "long.json": json.dumps(LONG_DOCUMENT).encode()}
    root = write_test_dir(tmp_path / "td", policy=DOCUMENT_POLICY + extra, payload=None, extra=files)
    return load_test_dir(root)


ASYNC_POLICY = '\n[async]\ninvocation_timeout_s = 120\nmax_request_mb = 20\nlong_payload = "long.json"\n'
LONG_DOCUMENT = {"inputs": "once upon", "parameters": {"max_new_tokens": 1400}}
"""70 s of generation at the fake's 0.05 s a token."""
STREAM_POLICY = (
    '\n[streaming]\naccept = "text/event-stream"\nformat = "sse"\ntext = "token.text"\ndeterministic = true\n'
)


@dataclass
class TextGenerator(FakeImage):
    """`{"inputs": str, "parameters": {"max_new_tokens": int}}` in, `{"generated_text": str}` out; deterministic.
    With `Accept: text/event-stream`, one SSE event per token, `{"token": {"text": ...}}`, 0.05 s apart."""

    crashes_on_shape: bool = False
    """Reads ``body["inputs"]`` and ``parameters["max_new_tokens"]`` unchecked: a corrupted document is a 500."""
    buffered: bool = False
    """A proxy in front buffers the stream: every event arrives at the end."""
    content_length: bool = False
    """The stream is built whole and sent with a Content-Length."""
    bare_tokens: bool = False
    """The tokens are sent as they are, without ``data:`` framing."""
    validates_in_stream: bool = False
    """A streamed call is validated inside the event generator: a bad one is a 200 stream that ends empty."""
    token_seconds: float = 0.05
    chunked_answers: bool = False
    """Every answer goes out chunked, without a Content-Length (a server that streams every answer)."""
    header_bytes: int = 0
    """Every answer carries an ``X-Model-Table`` header of this many bytes."""
    body_limit: int | None = None
    """A proxy in front refuses bodies above this many bytes with a 413."""
    proxy_timeout: float | None = None
    """A proxy in front answers 504 to a request the model has not answered after this many seconds."""

    def tokens(self, document: Any) -> list[str] | None:
        """The answer's tokens, or None when the document is no request of this shape."""
        if not isinstance(document, dict) or not isinstance(document.get("inputs"), str):
            return None
        parameters = document.get("parameters", {})
        if not isinstance(parameters, dict):
            return None
        count = parameters.get("max_new_tokens", 6)
        if not isinstance(count, int) or isinstance(count, bool):
            return None
        return [TOKENS[i % len(TOKENS)] for i in range(count)]

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        response = self.generate(body, headers)
        if self.header_bytes:
            response = replace(response, headers={"X-Model-Table": "t" * self.header_bytes})
        return response

    def generate(self, body: bytes, headers: Mapping[str, str]) -> Response:
        if self.body_limit is not None and len(body) > self.body_limit:
            return Response(413, b"<html>413 Request Entity Too Large</html>", "text/html")
        if headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return Response(415, b'{"error": "send application/json"}', "application/json")
        streams = headers.get("accept", "").startswith("text/event-stream")
        try:
            document = json.loads(body.decode("utf-8"))
            streams = streams or (isinstance(document, dict) and document.get("stream") is True)
        except ValueError:
            if streams and self.validates_in_stream:
                return Response(200, b"", "text/event-stream")
            return Response(400, b'{"error": "not JSON"}', "application/json")
        tokens = self.tokens(document)
        if tokens is None:
            if streams and self.validates_in_stream:
                return Response(200, b"", "text/event-stream")
            if self.crashes_on_shape:
                return Response(500, b"Internal Server Error", "text/plain")
            return Response(422, b'{"error": "expected {\\"inputs\\": str}"}', "application/json")
        seconds = self.token_seconds * len(tokens)
        if self.proxy_timeout is not None and seconds > self.proxy_timeout:
            return Response(504, b"<html>504 Gateway Time-out</html>", "text/html", elapsed=self.proxy_timeout)
        if streams:
            events = [t if self.bare_tokens else f"data: {json.dumps({'token': {'text': t}})}\n\n" for t in tokens]
            return Response(
                200, "".join(events).encode(), "text/event-stream", elapsed=self.token_seconds * len(tokens)
            )
        answer = json.dumps({"generated_text": "".join(tokens)}).encode()
        return Response(200, answer, "application/json", elapsed=max(seconds, 0.002))

    def streamed(self, server: FakeServer, exchange: Exchange) -> Streamed:
        if self.chunked_answers and exchange.media_type != "text/event-stream":
            headers = {k: v for k, v in exchange.headers.items() if k != "content-length"}
            answer = replace(exchange, headers={**headers, "transfer-encoding": "chunked"})
            return Streamed(answer, ((exchange.elapsed, exchange.body),), chunked=True, version="HTTP/1.1")
        if exchange.media_type != "text/event-stream" or exchange.status != 200:
            return super().streamed(server, exchange)
        text = exchange.body.decode()
        if self.bare_tokens:
            pieces = [token.encode() for token in re.findall(r" \S+", text)]
        else:
            pieces = [(event + "\n\n").encode() for event in text.split("\n\n")[:-1]]
        at = [self.token_seconds * (n + 1) for n in range(len(pieces))]
        if self.buffered:
            at = [at[-1] + 0.001] * len(pieces) if at else []
        headers = {k: v for k, v in exchange.headers.items() if k != "content-length"}
        if self.content_length:
            headers["content-length"] = str(len(exchange.body))
        else:
            headers["transfer-encoding"] = "chunked"
        answer = replace(exchange, headers=headers)
        return Streamed(
            answer, tuple(zip(at, pieces, strict=True)), chunked=not self.content_length, version="HTTP/1.1"
        )


@dataclass
class ClosesKeptAlive(GoodImage):
    """uWSGI's plain --http-socket: HTTP/1.1 answers without Connection: close, and the connection closed after each."""

    closes_kept_alive: bool = True


# --- SRV-25..27: the bidirectional-streaming WebSocket -------------------------------------------------------------


@dataclass
class FakeWebSocket:
    """An open session on a fake server; what it answers is its image's (:class:`Bidirectional`)."""

    server: FakeServer
    image: Bidirectional
    url: str = f"ws://127.0.0.1:32768{contract.BIDI_PATH}"
    accept_seconds: float = 0.004
    transcript: list[str] = field(default_factory=list)
    inbox: list[Frame] = field(default_factory=list)

    def _send(self, opcode: Opcode, payload: bytes, answer: Frame | None) -> None:
        self.transcript.append(f"> {Frame(opcode, payload, 0.0).describe()}")
        if answer is not None:
            self.inbox.append(answer)

    def send_text(self, text: str) -> None:
        answer = Frame(Opcode.TEXT, b'{"generated_text": "a lion was"}', 0.0) if self.image.answers_text else None
        self._send(Opcode.TEXT, text.encode(), answer)

    def send_binary(self, data: bytes) -> None:
        answer = Frame(Opcode.BINARY, b"a lion was", 0.0) if self.image.answers_binary else None
        if self.image.closes_on_binary:
            answer = Frame(Opcode.CLOSE, b"\x03\xeb" + b"unsupported data", 0.0)
        self._send(Opcode.BINARY, data, answer)

    def ping(self, payload: bytes) -> None:
        self._send(Opcode.PING, payload, Frame(Opcode.PONG, payload, 0.0) if self.image.pongs else None)

    def receive(self, timeout: float) -> Frame | None:
        if not self.inbox:
            return None
        frame = self.inbox.pop(0)
        self.transcript.append(f"< {frame.describe()}")
        return frame

    def close(self) -> None:
        self.server.open_sessions -= 1


@dataclass
class Bidirectional(GoodImage):
    """Claims bidirectional streaming and serves the WebSocket; each flag breaks one part of it."""

    info: ImageInfo = field(default_factory=lambda: image_info(labels={contract.BIDI_LABEL: "true"}))
    accept_seconds: float = 0.004
    answers_text: bool = True
    answers_binary: bool = True
    closes_on_binary: bool = False
    pongs: bool = True
    ping_during_session: float = 0.002
    """How long /ping takes while a session is open (a server whose sessions block its event loop: seconds)."""
    sessions: int = 0

    def websocket(self, server: FakeServer, path: str) -> FakeWebSocket:
        if path != contract.BIDI_PATH:
            return super().websocket(server, path)
        server.open_sessions += 1
        self.sessions += 1
        return FakeWebSocket(server, self, accept_seconds=self.accept_seconds)

    def ping(self, server: FakeServer) -> Response:
        return Response(200, b"", None, elapsed=self.ping_during_session if server.open_sessions else 0.002)
