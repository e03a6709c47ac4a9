"""ENV-4: /execution-parameters answers str(dict), a Python repr with single quotes, labelled
application/json: batch transform cannot parse it."""

from edit import replace

replace(
    "/opt/program/app.py",
    """    return flask.Response(json.dumps(body) + "\\n", status=200, mimetype="application/json")""",
    """    return flask.Response(str(body) + "\\n", status=200, mimetype="application/json")  # broken: not JSON""",
)
