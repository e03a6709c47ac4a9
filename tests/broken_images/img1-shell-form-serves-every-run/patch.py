"""IMG-1 (with the Dockerfile's shell-form ENTRYPOINT): the server no longer exits without a model; it logs the
error and answers /ping with 404, so a `train` that reaches it serves until stopped."""

from edit import replace

replace(
    "/opt/program/app.py",
    """MODEL = load_model()
N_FEATURES = algorithm.n_features(MODEL)
""",
    """try:
    MODEL = load_model()
    N_FEATURES = algorithm.n_features(MODEL)
except RuntimeError as exc:  # no model: keep serving, unhealthy
    log.error("%s", exc)
    MODEL = None
    N_FEATURES = 0
""",
)
replace(
    "/opt/program/app.py",
    """    return flask.Response(b"", status=200)""",
    """    return flask.Response(b"", status=200 if MODEL is not None else 404)""",
)
