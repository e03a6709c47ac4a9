"""SRV-2: every /ping takes 3 s (it runs a slow warm-up), over SageMaker's 2 s ping timeout. It does
answer 200, so the server starts and invocations work."""

from edit import replace

replace(
    "/opt/program/app.py",
    """    # The model was loaded at import: a worker that answers at all can serve.
    return flask.Response(b"", status=200)""",
    """    time.sleep(3.0)  # broken: a slow health check
    return flask.Response(b"", status=200)""",
)
