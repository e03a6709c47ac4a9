"""SRV-12: a missing model is only logged; the workers boot and /ping answers 200, so SageMaker would send
traffic to a container that can only fail. With a model, everything works."""

from edit import replace

replace(
    "/opt/program/app.py",
    """MODEL = load_model()
N_FEATURES = algorithm.n_features(MODEL)""",
    """try:
    MODEL = load_model()
    N_FEATURES = algorithm.n_features(MODEL)
except RuntimeError as exc:  # broken: start anyway, healthy without a model
    log.error("starting without a model: %s", exc)
    MODEL, N_FEATURES = None, 0""",
)
