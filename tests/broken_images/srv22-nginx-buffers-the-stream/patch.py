"""SRV-22: the stream leaves nginx's buffering on: its events reach the client only when the generation ends."""

from edit import replace

replace(
    "/opt/program/generator.py",
    """        return flask.Response(events, mimetype="text/event-stream", headers={"X-Accel-Buffering": "no"})""",
    """        return flask.Response(events, mimetype="text/event-stream")  # broken: nginx buffers it whole""",
)
