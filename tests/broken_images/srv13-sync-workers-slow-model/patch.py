"""SRV-13: gunicorn runs single-threaded sync workers (AWS's scikit_bring_your_own default) in front of a
model that takes 1 s per invocation. While invocations are in flight, /ping waits in the same queue and
takes longer than SageMaker's 2 s. Idle pings are fast, and the worker count still follows
MODEL_SERVER_WORKERS."""

from edit import replace

replace(
    "/opt/program/serve",
    """        "--worker-class", "gthread",
        "--threads", str(THREADS_PER_WORKER),""",
    """        "--worker-class", "sync",  # broken: one request at a time per worker, /ping included""",
)
replace(
    "/opt/program/app.py",
    """    predictions = algorithm.predict(MODEL, features)
""",
    """    time.sleep(1.0)  # a slow model: 1 s per invocation
    predictions = algorithm.predict(MODEL, features)
""",
)
