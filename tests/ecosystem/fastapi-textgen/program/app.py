"""A TGI-style text generation API in FastAPI: {"inputs": ..., "parameters": {...}} -> {"generated_text": ...}."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from generator import Generator
from pydantic import BaseModel, Field

# Loaded when the worker imports the app: without a model the worker cannot start, and /ping never says 200.
GENERATOR = Generator.load(Path(os.environ.get("SM_MODEL_DIR", "/opt/ml/model")))

app = FastAPI()


class Parameters(BaseModel):
    max_new_tokens: int = Field(20, ge=1, le=256)


class GenerateRequest(BaseModel):
    inputs: str
    parameters: Parameters = Parameters()
    stream: bool = False


@app.get("/ping")
async def ping() -> Response:
    return Response(status_code=200)


def events(tokens: Iterator[str]) -> Iterator[str]:
    text = ""
    for token in tokens:
        text += token
        yield f"data: {json.dumps({'token': {'text': token}})}\n\n"
    yield f"data: {json.dumps({'token': {'text': ''}, 'generated_text': text})}\n\n"


@app.post("/invocations")
async def invocations(body: GenerateRequest, request: Request) -> Response:
    tokens = GENERATOR.tokens(body.inputs, body.parameters.max_new_tokens)
    if body.stream or "text/event-stream" in request.headers.get("accept", ""):
        return StreamingResponse(events(tokens), media_type="text/event-stream")
    return JSONResponse({"generated_text": "".join(tokens)})
