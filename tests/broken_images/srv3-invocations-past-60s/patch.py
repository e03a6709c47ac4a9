"""SRV-3: every valid invocation sleeps 65 s before it predicts, past SageMaker's 60 s limit. The gthread workers keep
/ping answering at once, and nginx waits 65 s, so the harness's own 60 s wait is what ends each request."""

from edit import replace

replace(
    "/opt/program/app.py",
    """    predictions = algorithm.predict(MODEL, features)
""",
    """    time.sleep(65.0)  # broken: past the 60 s invocation limit
    predictions = algorithm.predict(MODEL, features)
""",
)
