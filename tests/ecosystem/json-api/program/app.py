"""A FastAPI JSON API: `{"instances": [[f1, f2, ...], ...]}` in, `{"predictions": [{...}, ...]}` out."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from model import Model, numbers

# Loaded at import: without a model the worker fails to boot, gunicorn exits non-zero, and /ping never says 200.
MODEL = Model.load(Path("/opt/ml/model/model.json"))
MEDIA_TYPE = "application/json"
# The model is plain Python and holds the GIL: one prediction at a time per worker process. More threads would
# only take turns with the event loop, and /ping would wait behind them.
PREDICTIONS = anyio.CapacityLimiter(1)

app = FastAPI()


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


@app.get("/ping")
async def ping() -> Response:
    return Response(status_code=200)


def predict(body: bytes) -> JSONResponse:
    try:
        document = json.loads(body)
        if not isinstance(document, dict) or not isinstance(document.get("instances"), list):
            raise ValueError('the body must be {"instances": [...]}')
        if not document["instances"]:
            raise ValueError("no instances")
        rows = [numbers(instance, MODEL.width) for instance in document["instances"]]
    except ValueError as problem:  # json's decode errors, invalid UTF-8 included, are ValueErrors
        return error(400, str(problem))
    return JSONResponse({"predictions": [MODEL.predict(row) for row in rows]})


@app.post("/invocations")
async def invocations(request: Request) -> Response:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != MEDIA_TYPE:
        return error(415, f"send {MEDIA_TYPE}, not {media_type or 'no Content-Type'}")
    body = await request.body()
    # Parsing and predicting are CPU work: off the event loop, so /ping answers while they run.
    return await anyio.to_thread.run_sync(predict, body, limiter=PREDICTIONS)
