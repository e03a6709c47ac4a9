"""SRV-7 on the FastAPI text generator: the handler parses the body itself (`await request.json()`, then
`body["inputs"]`), unguarded, so JSON cut short or a missing member is an unhandled exception: 500."""

from edit import replace

replace(
    "/opt/program/app.py",
    """async def invocations(body: GenerateRequest, request: Request) -> Response:
    tokens = GENERATOR.tokens(body.inputs, body.parameters.max_new_tokens)
    if body.stream or""",
    """async def invocations(request: Request) -> Response:
    document = await request.json()  # broken: invalid JSON raises here
    tokens = GENERATOR.tokens(document["inputs"], document.get("parameters", {}).get("max_new_tokens", 20))
    if document.get("stream") or""",
)
