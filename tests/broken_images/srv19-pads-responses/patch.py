"""SRV-19: every prediction is written in a fixed 32-byte slot, padded with blank lines: no record reader sees the
padding, but the answer to a 6 MB request grows to about 12 MB, past InvokeEndpoint's 6 MiB response limit."""

from edit import replace

replace(
    "/opt/program/app.py",
    "    return flask.Response(format_predictions(predictions), status=200, content_type=RESPONSE_TYPE)",
    '    padded = "".join(line.ljust(32, "\\n") for line in format_predictions(predictions).splitlines())  # broken\n'
    "    return flask.Response(padded, status=200, content_type=RESPONSE_TYPE)",
)
