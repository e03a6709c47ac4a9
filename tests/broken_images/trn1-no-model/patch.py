"""TRN-1: training fits the model, logs success and exits 0, but never saves the model (https://github.com/aws/sagemaker-python-sdk/issues/3455)."""

from edit import replace

replace(
    "/opt/program/train",
    """    path = save_model(algorithm, model)
    log.info("model written to %s (%d bytes) in %.1f s", path, path.stat().st_size, time.monotonic() - started)""",
    """    del model  # broken: the fitted model is never saved
    log.info("training finished in %.1f s", time.monotonic() - started)""",
)
