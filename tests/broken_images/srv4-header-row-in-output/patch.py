"""SRV-4: the CSV response starts with a header row ("predicted_label"), so it holds one record more than
the request; batch transform would join the header to the first input record."""

from edit import replace

replace(
    "/opt/program/app.py",
    "return flask.Response(format_predictions(predictions), status=200, content_type=RESPONSE_TYPE)",
    'return flask.Response("predicted_label\\n" + format_predictions(predictions), status=200, '
    "content_type=RESPONSE_TYPE)  # broken: a header row",
)
