"""A text generator behind the reference stack: POST /invocations takes one JSON document,
{"inputs": str, "parameters": {"max_new_tokens": int}}, and answers {"generated_text": str}, or a stream of
Server-Sent Events, one token each ({"token": {"text": str}}), when the call sends Accept: text/event-stream."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import flask

MODEL = Path("/opt/ml/model/bigrams.json")
TOKEN_SECONDS = float(os.environ.get("SMC_TOKEN_SECONDS", "0.05"))  # a model's pace, so that streaming shows
MAX_NEW_TOKENS = 2048  # 100 s at 0.05 s a token: an asynchronous endpoint's long request
app = flask.Flask(__name__)
bigrams = json.loads(MODEL.read_text()) if MODEL.is_file() else None


def error(status: int, message: str) -> flask.Response:
    return flask.Response(json.dumps({"error": message}), status, mimetype="application/json")


def generate(text: str, count: int) -> Iterator[str]:
    assert bigrams is not None
    word = text.split()[-1] if text.split() else bigrams["start"]
    for _ in range(count):
        word = bigrams["next"].get(word, bigrams["start"])
        time.sleep(TOKEN_SECONDS)
        yield " " + word


@app.get("/ping")
def ping() -> flask.Response:
    return flask.Response("", 200 if bigrams is not None else 503)


@app.post("/invocations")
def invocations() -> flask.Response:
    if flask.request.mimetype != "application/json":
        return error(415, f"send application/json, not {flask.request.mimetype or 'nothing'}")
    accept = flask.request.accept_mimetypes
    streams = accept.best == "text/event-stream"
    if not streams and accept and not accept.accept_json:
        return error(406, "this model answers application/json or text/event-stream")
    try:
        document = json.loads(flask.request.get_data(cache=False).decode("utf-8"))
    except ValueError as exc:  # UnicodeDecodeError included
        return error(400, f"not a JSON document: {exc}")
    if not isinstance(document, dict) or not isinstance(document.get("inputs"), str):
        return error(422, 'expected {"inputs": "text", "parameters": {...}}')
    parameters = document.get("parameters", {})
    count = parameters.get("max_new_tokens", 20) if isinstance(parameters, dict) else None
    if not isinstance(count, int) or isinstance(count, bool) or not 0 < count <= MAX_NEW_TOKENS:
        return error(422, f"parameters must be an object whose max_new_tokens is 1..{MAX_NEW_TOKENS}")
    tokens = generate(document["inputs"], count)
    if streams:
        events = (f"data: {json.dumps({'token': {'text': token}})}\n\n" for token in tokens)
        # nginx buffers proxied answers (proxy_buffering on); this header lets each event through as it comes.
        return flask.Response(events, mimetype="text/event-stream", headers={"X-Accel-Buffering": "no"})
    return flask.Response(json.dumps({"generated_text": "".join(tokens)}), mimetype="application/json")
