"""SRV-7 on the FastAPI text generator: the handler parses the body itself (`await request.json()`, then
`document["inputs"]`) inside one `except Exception` that answers 500, so the client's mistakes (JSON cut short, an
empty body, a missing member) are reported as the server's. (Left to raise instead, they would also make uvicorn
close the kept-alive connection after its 500.)"""

from edit import replace

replace(
    "/opt/program/app.py",
    """async def invocations(body: GenerateRequest, request: Request) -> Response:
    tokens = GENERATOR.tokens(body.inputs, body.parameters.max_new_tokens)
    if body.stream or""",
    """async def invocations(request: Request) -> Response:
    try:
        document = await request.json()
        tokens = GENERATOR.tokens(document["inputs"], document.get("parameters", {}).get("max_new_tokens", 20))
    except Exception as error:  # broken: a client's mistake answered as a server error
        return JSONResponse({"error": f"internal error: {error!r}"}, status_code=500)
    if document.get("stream") or""",
)
