"""A Flask JSON Lines service in the shape of SageMaker's built-in algorithms: one `{"features": [...]}` per
request line in, one `{"predicted_label": ..., "probability": ...}` per response line out."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import flask
from model import Model, numbers

# Loaded at import: without a model the worker fails to boot, gunicorn exits non-zero, and /ping never says 200.
MODEL = Model.load(Path("/opt/ml/model/model.json"))
MEDIA_TYPES = ("application/jsonlines", "application/x-jsonlines")
# Parsing and the model are plain Python and hold the GIL: one request at a time per worker process, so that the
# thread answering /ping takes turns with one busy thread, not eight.
PREDICTIONS = threading.Semaphore(1)

app = flask.Flask(__name__)


def error(status: int, message: str) -> flask.Response:
    return flask.Response(json.dumps({"error": message}) + "\n", status=status, mimetype="application/json")


def parse(text: str) -> list[list[float]]:
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict) or "features" not in record:
                raise ValueError('expected {"features": [...]}')
            rows.append(numbers(record["features"], MODEL.width))
        except ValueError as problem:
            raise ValueError(f"line {number}: {problem}") from None
    return rows


@app.get("/ping")
def ping() -> flask.Response:
    return flask.Response(status=200)


@app.post("/invocations")
def invocations() -> flask.Response:
    if flask.request.mimetype not in MEDIA_TYPES:
        return error(415, f"send {MEDIA_TYPES[0]}, not {flask.request.mimetype or 'no Content-Type'}")
    body = flask.request.get_data()
    with PREDICTIONS:
        try:
            rows = parse(body.decode("utf-8"))
            if not rows:
                raise ValueError("no records")
        except ValueError as problem:  # UnicodeDecodeError included
            return error(400, str(problem))
        lines = "".join(json.dumps(MODEL.predict(row)) + "\n" for row in rows)
    return flask.Response(lines, status=200, mimetype=MEDIA_TYPES[0])
