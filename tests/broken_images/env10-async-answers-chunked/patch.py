"""ENV-10: the JSON answer is a generator too, so no Content-Length is known when the headers go out."""

from edit import replace

replace(
    "/opt/program/generator.py",
    """    return flask.Response(json.dumps({"generated_text": "".join(tokens)}), mimetype="application/json")""",
    """    answer = (part for part in [json.dumps({"generated_text": "".join(tokens)})])  # broken: always streamed
    return flask.Response(answer, mimetype="application/json")""",
)
