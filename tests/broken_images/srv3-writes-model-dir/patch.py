"""SRV-3: each worker writes a cache file into /opt/ml/model before loading the model. SageMaker mounts
/opt/ml/model read-only, so the write fails with EROFS, the worker cannot boot and serve exits
(https://github.com/aws/sagemaker-python-sdk/issues/5698)."""

from edit import replace

replace(
    "/opt/program/app.py",
    """    started = time.monotonic()
    try:
        loaded = algorithm.load(path)""",
    """    started = time.monotonic()
    (MODEL_DIR / ".model-cache").write_bytes(path.read_bytes())  # broken: /opt/ml/model is read-only
    try:
        loaded = algorithm.load(path)""",
)
