"""SRV-2: /ping waits for a warm-up flag that nothing ever sets, so every ping is a 500 and the endpoint
never becomes healthy. Invocations would work."""

from edit import replace

replace(
    "/opt/program/app.py",
    """    # The model was loaded at import: a worker that answers at all can serve.
    return flask.Response(b"", status=200)""",
    """    if not WARMED_UP:  # broken: the warm-up that sets the flag is never started
        return flask.Response(b"model is warming up\\n", status=500)
    return flask.Response(b"", status=200)""",
)
replace(
    "/opt/program/app.py",
    """app = flask.Flask(__name__)
""",
    """app = flask.Flask(__name__)
WARMED_UP = False  # set by a warm-up thread that this server never starts
""",
)
