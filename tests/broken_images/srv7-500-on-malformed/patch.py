"""SRV-7: nothing catches the parser's errors, so every malformed payload (wrong width, non-number, empty
body) is a 500 instead of a 400. The worker survives (SRV-8 holds)."""

from edit import replace

replace(
    "/opt/program/app.py",
    """    try:
        features = parse_payload(flask.request.get_data(cache=False))
    except UserError as exc:
        return text_response(400, str(exc))""",
    """    features = parse_payload(flask.request.get_data(cache=False))  # broken: errors become 500s""",
)
