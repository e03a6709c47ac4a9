"""SRV-24: the stream starts before the request is read; an error inside it ends the answer silently."""

from edit import replace

replace(
    "/opt/program/generator.py",
    """    try:
        document = json.loads(flask.request.get_data(cache=False).decode("utf-8"))""",
    """    if streams:  # broken: the 200 goes out before the request is checked
        raw = flask.request.get_data(cache=False)

        def lazy() -> Iterator[str]:
            yield ": stream open\\n\\n"  # an SSE comment, so that the caller sees the stream start at once
            document = json.loads(raw.decode("utf-8"))
            count = document.get("parameters", {}).get("max_new_tokens", 20)
            for token in generate(document["inputs"], count):
                yield f"data: {json.dumps({'token': {'text': token}})}\\n\\n"

        return flask.Response(lazy(), mimetype="text/event-stream", headers={"X-Accel-Buffering": "no"})
    try:
        document = json.loads(flask.request.get_data(cache=False).decode("utf-8"))""",
)
