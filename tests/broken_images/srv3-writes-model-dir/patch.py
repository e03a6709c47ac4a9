"""SRV-3: the model loader writes a cache file into /opt/ml/model before loading the model. SageMaker mounts
/opt/ml/model read-only, so the write fails with EROFS; the stack loads the model in gunicorn's master before it
binds (--preload), so the master dies, serve exits and nothing ever listens
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
