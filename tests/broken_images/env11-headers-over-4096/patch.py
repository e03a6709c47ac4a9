"""ENV-11: an X-Model-Card header of about 5 KB on every answer, and nginx's proxy_buffer_size raised to pass it on
(its default of one page answers 502, "upstream sent too big header")."""

from edit import replace

replace(
    "/opt/program/generator.py",
    """app = flask.Flask(__name__)""",
    """app = flask.Flask(__name__)
MODEL_CARD = "; ".join(f"section {n}: a bigram text generator trained on a small corpus" for n in range(80))


@app.after_request
def model_card(response: flask.Response) -> flask.Response:  # broken: about 5 KB of headers
    response.headers["X-Model-Card"] = MODEL_CARD
    return response""",
)

replace(
    "/opt/program/nginx.conf.template",
    """        proxy_buffers 16 64k;""",
    """        proxy_buffers 16 64k;
        proxy_buffer_size 16k;          # broken: raised to carry the X-Model-Card header""",
)
