"""The inference app (WSGI entry `app:app`): /ping, /invocations and /execution-parameters.

gunicorn imports this module once, in its master process before it forks the workers (`serve` passes
--preload), and the import loads the model from the read-only /opt/ml/model: the heavy libraries and the
model are loaded once, not once per worker, and the workers share them. If the model is missing or
unreadable the import raises, gunicorn exits before it listens and `serve` exits non-zero: /ping never
answers 200 without a model.

/invocations takes CSV (no header, one record per line, features only) and answers one prediction per
record, in order. Every client mistake is a 4xx with a one-line text/plain reason, never a 500.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import algorithm
import flask
from common import UserError, format_predictions, one_line, parse_feature_records
from werkzeug.http import parse_options_header

log = logging.getLogger("app")
if not logging.getLogger().handlers:
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s app[%(process)d] %(levelname)s %(message)s"
    )

MODEL_DIR = Path(os.environ.get("SMC_MODEL_DIR", "/opt/ml/model"))  # testing hook; SageMaker uses /opt/ml/model
CSV_TYPE = "text/csv"
CSV_CHARSETS = {"utf-8", "utf8", "us-ascii", "ascii"}
RESPONSE_TYPE = "text/csv; charset=utf-8"
MAX_PAYLOAD_MB = 6  # what /execution-parameters announces for batch transform (SageMaker's default)


def load_model() -> Any:
    """Load the model (once, before the workers fork); raise naming the path when it cannot be done."""
    path = MODEL_DIR / algorithm.MODEL_FILENAME
    if not MODEL_DIR.is_dir():
        raise RuntimeError(f"no model: {MODEL_DIR} does not exist (mount the extracted model.tar.gz there)")
    if not path.is_file():
        found = ", ".join(sorted(p.name for p in MODEL_DIR.iterdir())[:10]) or "nothing"
        raise RuntimeError(
            f"no model: {path} does not exist ({MODEL_DIR} holds: {found}). "
            f"Mount the model.tar.gz that this image's `train` wrote."
        )
    started = time.monotonic()
    try:
        loaded = algorithm.load(path)
    except UserError as exc:
        raise RuntimeError(f"cannot load the model: {exc}") from exc
    log.info("model %s loaded in %.2f s (%d features)", path, time.monotonic() - started, algorithm.n_features(loaded))
    return loaded


MODEL = load_model()
N_FEATURES = algorithm.n_features(MODEL)
# Everything loaded so far (the libraries and the model) lives as long as the process. Frozen, it is left out
# of the workers' garbage collections: no pause that grows with the libraries' size, and no write to the
# memory pages the workers share with gunicorn's master (copy-on-write).
gc.freeze()

app = flask.Flask(__name__)


def text_response(status: int, message: str) -> flask.Response:
    return flask.Response(one_line(message) + "\n", status=status, mimetype="text/plain")


@app.get("/ping")
def ping() -> flask.Response:
    # The model was loaded at import: a worker that answers at all can serve.
    return flask.Response(b"", status=200)


def check_media_type(header: str | None) -> None:
    """Accept text/csv with any parameters, except a charset that is not UTF-8 compatible (415)."""
    if header is None or not header.strip():
        return  # no Content-Type at all: assume CSV, the only thing this model reads
    mimetype, options = parse_options_header(header)
    if mimetype.lower() != CSV_TYPE:
        raise MediaTypeError(f"unsupported Content-Type {header[:100]!r}: this model accepts {CSV_TYPE}")
    charset = options.get("charset", "utf-8").strip().lower()
    if charset not in CSV_CHARSETS:
        raise MediaTypeError(f"unsupported charset {charset[:40]!r}: send {CSV_TYPE} in UTF-8")


class MediaTypeError(Exception):
    """The request's media type is not one this model reads (415)."""


def parse_payload(body: bytes) -> Any:
    """CSV body -> float64 matrix (records x N_FEATURES); UserError names the first bad record."""
    try:
        text = body.decode("utf-8-sig")  # -sig: a leading byte-order mark is dropped
    except UnicodeDecodeError as exc:
        raise UserError(f"the payload is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    return parse_feature_records(text, N_FEATURES)


@app.post("/invocations")
def invocations() -> flask.Response:
    try:
        check_media_type(flask.request.headers.get("Content-Type"))
    except MediaTypeError as exc:
        return text_response(415, str(exc))
    accept = flask.request.headers.get("Accept", "").strip()
    if accept and accept != "*/*" and not flask.request.accept_mimetypes.best_match([CSV_TYPE]):
        return text_response(406, f"unsupported Accept {accept[:100]!r}: answers are text/csv")
    try:
        features = parse_payload(flask.request.get_data(cache=False))
    except UserError as exc:
        return text_response(400, str(exc))
    predictions = algorithm.predict(MODEL, features)
    if len(predictions) != len(features):  # an algorithm bug, not the client's: a 500 is right here
        raise RuntimeError(f"the algorithm returned {len(predictions)} predictions for {len(features)} records")
    return flask.Response(format_predictions(predictions), status=200, content_type=RESPONSE_TYPE)


@app.get("/execution-parameters")
def execution_parameters() -> flask.Response:
    """Batch transform hints: one concurrent request per worker, whole mini-batches, 6 MB payloads.

    MaxConcurrentTransforms x MaxPayloadInMB must not exceed 100, so the concurrency is capped at 16.
    """
    workers = int(os.environ.get("SMC_RESOLVED_WORKERS", "1"))
    body = {
        "MaxConcurrentTransforms": max(1, min(workers, 100 // MAX_PAYLOAD_MB)),
        "BatchStrategy": "MULTI_RECORD",
        "MaxPayloadInMB": MAX_PAYLOAD_MB,
    }
    return flask.Response(json.dumps(body) + "\n", status=200, mimetype="application/json")
