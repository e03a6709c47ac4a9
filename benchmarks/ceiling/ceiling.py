"""Benchmark only: the same Flask app shape as the reference images' app.py, answering a constant without a model.

benchmarks/ceiling/Dockerfile copies it into a reference image and sets `SMC_WSGI_APP=ceiling:app`, so that
`serve` runs it behind the same nginx + gunicorn stack: the stack's own ceiling, which
benchmarks/bench_reference_images.py compares the real model against. Never part of a reference image.
"""

from __future__ import annotations

import flask

app = flask.Flask(__name__)


@app.get("/ping")
def ping() -> flask.Response:
    return flask.Response(b"", status=200)


@app.post("/invocations")
def invocations() -> flask.Response:
    flask.request.get_data(cache=False)  # read the body, as the real app does
    return flask.Response("0\n", status=200, content_type="text/csv; charset=utf-8")
