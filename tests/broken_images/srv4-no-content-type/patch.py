"""SRV-4: the /invocations response has no Content-Type header (the body is still correct CSV)."""

from edit import replace

replace(
    "/opt/program/app.py",
    "    return flask.Response(format_predictions(predictions), status=200, content_type=RESPONSE_TYPE)",
    """    response = flask.Response(format_predictions(predictions), status=200)
    del response.headers["Content-Type"]  # broken: no media type
    return response""",
)
