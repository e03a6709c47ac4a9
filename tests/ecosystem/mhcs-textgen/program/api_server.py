"""An OpenAI-style completions server whose SageMaker routes come from model-hosting-container-standards.

POST /invocations  {"prompt": "...", "max_tokens": N, "stream": false}
                -> {"id": ..., "object": "text_completion", "choices": [{"index": 0, "text": "...", ...}]}
                   with "stream": true, Server-Sent Events of the same objects, one per token, then `data: [DONE]`.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import model_hosting_container_standards.sagemaker as sagemaker_standards
import uvicorn
from engine import Engine
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field, ValidationError

logging.basicConfig(level=logging.INFO)
ENGINE = Engine(Path(os.environ.get("SAGEMAKER_MODEL_PATH", "/opt/ml/model")))


# As vLLM's SageMaker entry point does: the framework's own routes carry the package's register decorators, and
# bootstrap() (last) lets a customer's override (CUSTOM_FASTAPI_PING_HANDLER, a model.py) replace them.
router = APIRouter()


class CompletionRequest(BaseModel):
    prompt: str
    max_tokens: int = Field(16, ge=1, le=512)
    stream: bool = False


@router.get("/ping")
@router.post("/ping")
@sagemaker_standards.register_ping_handler
async def ping(raw_request: Request) -> Response:
    if not ENGINE.ready:
        return JSONResponse({"status": "loading" if ENGINE.error is None else ENGINE.error}, status_code=503)
    return Response(status_code=200)


def choice(text: str, finish: str | None) -> dict[str, object]:
    return {"id": "cmpl-smc", "object": "text_completion", "model": "next-word",
            "choices": [{"index": 0, "text": text, "finish_reason": finish}]}  # fmt: skip


@router.post("/invocations")
@sagemaker_standards.register_invocation_handler
async def invocations(raw_request: Request) -> Response:
    if not ENGINE.ready:
        return JSONResponse({"error": "the engine is not ready"}, status_code=503)
    # vLLM's validate_json_request: only JSON bodies.
    if raw_request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        return JSONResponse({"error": "Unsupported Media Type: only application/json is allowed"}, status_code=415)
    try:
        request = CompletionRequest.model_validate_json(await raw_request.body())
    except ValidationError as error:
        problems = error.errors(include_url=False, include_context=False, include_input=False)
        return JSONResponse({"error": problems}, status_code=400)
    tokens = ENGINE.complete(request.prompt, request.max_tokens)
    if request.stream:

        async def events() -> AsyncIterator[str]:
            async for token in tokens:
                yield f"data: {json.dumps(choice(token, None))}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")
    return JSONResponse(choice("".join([token async for token in tokens]), "length"))


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await ENGINE.start()
    yield


app = FastAPI(lifespan=lifespan)
app.include_router(router)
sagemaker_standards.bootstrap(app)

if __name__ == "__main__":
    uvicorn.run(app, host="0.0.0.0", port=int(os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080")),
                timeout_graceful_shutdown=20)  # fmt: skip
