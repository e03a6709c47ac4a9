"""The text generator's HTTP and WebSocket API (ASGI entry app:app), served by gunicorn's uvicorn workers.

    GET  /ping                               200 once the model is loaded (it is loaded at import)
    POST /invocations                        {"inputs": "...", "parameters": {"max_new_tokens": N}}
         Accept application/json (default)   -> {"generated_text": "..."}, with Content-Length
                                                ("inputs": [...] -> [{"generated_text": "..."}, ...])
         Accept text/event-stream, or        -> Server-Sent Events, one `data: {"token": {"text": ...}}` per token,
           "stream": true in the document       the last one also carrying "generated_text"
         Accept application/jsonlines        -> the same objects, one JSON document per line
    WS   /invocations-bidirectional-stream   a text frame (a document as above, or a bare prompt) -> one text
                                             frame per token, then {"generated_text": ...}; a binary frame (a
                                             UTF-8 prompt) -> one binary frame, the generated text
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio
from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, Response, StreamingResponse

from textgen import MODEL_FILENAME, Model, UserError

MODEL_DIR = Path(os.environ.get("SMC_MODEL_DIR", "/opt/ml/model"))  # testing hook only
# Loaded at import, in gunicorn's master (--preload): without a model gunicorn exits before it listens, so /ping
# never answers 200 without one.
MODEL = Model.load(MODEL_DIR / MODEL_FILENAME)

JSON, SSE, JSONLINES = "application/json", "text/event-stream", "application/jsonlines"
DEFAULT_MAX_NEW_TOKENS = 20
MAX_NEW_TOKENS = 512
MAX_BATCH = 1024
BIDI_PATH = "/invocations-bidirectional-stream"

log = logging.getLogger("app")
app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


class ClientError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Call:
    inputs: str | list[str]
    """One prompt, or a batch of them (answered as a list, as Hugging Face's pipelines answer a batch)."""
    max_new_tokens: int
    stream: bool


def parse_document(body: bytes | str) -> Call:
    """One JSON document, Hugging Face style; every client mistake is a ClientError (400), never a 500."""
    try:
        document = json.loads(body)
    except ValueError as error:  # invalid JSON and invalid UTF-8 alike
        raise ClientError(400, f"the body is not a JSON document: {error}") from None
    if not isinstance(document, dict):
        raise ClientError(400, f'the body must be a JSON object {{"inputs": "..."}}, not {type(document).__name__}')
    inputs = document.get("inputs")
    batch = isinstance(inputs, list) and 0 < len(inputs) <= MAX_BATCH and all(isinstance(i, str) for i in inputs)
    if not isinstance(inputs, str) and not batch:
        found = type(inputs).__name__ if "inputs" in document else "missing"
        raise ClientError(400, f'"inputs" must be a string (or a list of 1 to {MAX_BATCH} strings), not {found}')
    parameters = document.get("parameters", {})
    if not isinstance(parameters, dict):
        raise ClientError(400, f'"parameters" must be an object, not {type(parameters).__name__}')
    tokens = parameters.get("max_new_tokens", DEFAULT_MAX_NEW_TOKENS)
    # bool is an int in Python: true is no token count.
    if isinstance(tokens, bool) or not isinstance(tokens, int) or not 1 <= tokens <= MAX_NEW_TOKENS:
        raise ClientError(400, f'"parameters.max_new_tokens" must be an integer from 1 to {MAX_NEW_TOKENS}, not {tokens!r}')
    stream = document.get("stream", False)
    if not isinstance(stream, bool):
        raise ClientError(400, f'"stream" must be true or false, not {stream!r}')
    return Call(inputs, tokens, stream)


def media_type(header: str) -> tuple[str, dict[str, str]]:
    kind, _, rest = header.partition(";")
    params = {}
    for part in rest.split(";"):
        name, _, value = part.partition("=")
        if name.strip():
            params[name.strip().lower()] = value.strip().strip('"').lower()
    return kind.strip().lower(), params


def choose_output(accept: str | None, stream: bool) -> str:
    """The answer's media type: the first one Accept names that we produce (q=0 excluded); 406 when none."""
    default = SSE if stream else JSON
    if not accept or not accept.strip():
        return default
    for item in accept.split(","):
        kind, params = media_type(item)
        if params.get("q") in ("0", "0.0", "0.00", "0.000"):
            continue
        if kind in ("*/*", "application/*") or (kind == "text/*" and stream):
            return default
        if kind in (JSON, SSE, JSONLINES):
            return kind
    raise ClientError(406, f"cannot answer in {accept!r}: ask for {JSON}, {SSE} or {JSONLINES}")


# Whole answers are generated off the event loop (a long prompt costs CPU time), one at a time per worker: the
# model is plain Python and holds the GIL, and /ping must not wait behind a queue of threads.
GENERATIONS = anyio.CapacityLimiter(1)


def complete(prompts: list[str], max_new_tokens: int) -> list[str]:
    return ["".join(MODEL.generate(prompt, max_new_tokens)) for prompt in prompts]


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


@app.exception_handler(ClientError)
async def client_error(_request: Request, problem: ClientError) -> JSONResponse:
    return error(problem.status, str(problem))


@app.get("/ping")
async def ping() -> Response:
    return Response(status_code=200)


def frames(pieces: Iterator[str]) -> Iterator[dict[str, object]]:
    """One object per token; the last also carries the whole text (as Hugging Face TGI's last event does)."""
    text, previous = "", None
    for piece in pieces:
        if previous is not None:
            yield {"token": {"text": previous}}
        text += piece
        previous = piece
    if previous is not None:
        yield {"token": {"text": previous}, "generated_text": text}


async def paced(objects: Iterator[dict[str, object]], encode: str) -> AsyncIterator[bytes]:
    for obj in objects:
        line = json.dumps(obj, ensure_ascii=False)
        yield (f"data: {line}\n\n" if encode == SSE else line + "\n").encode()
        # One token per turn of the event loop: each frame leaves as its own chunk, and /ping is never starved.
        await anyio.sleep(0)


@app.post("/invocations")
async def invocations(request: Request) -> Response:
    kind, params = media_type(request.headers.get("content-type", ""))
    if kind != JSON or params.get("charset", "utf-8") not in ("utf-8", "utf8", "us-ascii"):
        return error(415, f"send {JSON} (UTF-8), not {request.headers.get('content-type') or 'no Content-Type'}")
    call = parse_document(await request.body())
    output = choose_output(request.headers.get("accept"), call.stream)
    if isinstance(call.inputs, list):
        if output != JSON:
            raise ClientError(400, "a batch of prompts is answered as one JSON document: stream one prompt at a time")
        texts = await anyio.to_thread.run_sync(complete, call.inputs, call.max_new_tokens, limiter=GENERATIONS)
        return JSONResponse([{"generated_text": text} for text in texts])
    if output == JSON:
        (text,) = await anyio.to_thread.run_sync(complete, [call.inputs], call.max_new_tokens, limiter=GENERATIONS)
        return JSONResponse({"generated_text": text})
    pieces = MODEL.generate(call.inputs, call.max_new_tokens)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}  # no proxy may hold the frames back
    return StreamingResponse(paced(frames(pieces), output), media_type=output, headers=headers)


@app.websocket(BIDI_PATH)
async def bidirectional(socket: WebSocket) -> None:
    await socket.accept()
    try:
        while True:
            message = await socket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                await answer_text(socket, message["text"])
            elif message.get("bytes") is not None:
                await answer_bytes(socket, message["bytes"])
    except WebSocketDisconnect:
        return


async def answer_text(socket: WebSocket, text: str) -> None:
    try:
        call = parse_document(text) if text.lstrip().startswith("{") else Call(text, DEFAULT_MAX_NEW_TOKENS, True)
    except ClientError as problem:
        await socket.send_text(json.dumps({"error": str(problem)}))
        return
    prompts = call.inputs if isinstance(call.inputs, list) else [call.inputs]
    for obj in (frame for prompt in prompts for frame in frames(MODEL.generate(prompt, call.max_new_tokens))):
        await socket.send_text(json.dumps(obj, ensure_ascii=False))


async def answer_bytes(socket: WebSocket, data: bytes) -> None:
    try:
        prompt = data.decode("utf-8")
    except UnicodeDecodeError as problem:
        await socket.send_text(json.dumps({"error": f"a binary frame must hold a UTF-8 prompt: {problem}"}))
        return
    await socket.send_bytes("".join(MODEL.generate(prompt, DEFAULT_MAX_NEW_TOKENS)).encode())
