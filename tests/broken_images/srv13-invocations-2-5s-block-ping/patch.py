"""SRV-13: gunicorn runs single-threaded sync workers in front of a model that takes 2.5 s per invocation, so /ping
queues behind invocations in flight. Idle pings are fast; the slow model makes every clause that invokes slow,
which is what the harness's property budget bounds."""

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
    """    time.sleep(2.5)  # a slow model: 2.5 s per invocation
    predictions = algorithm.predict(MODEL, features)
""",
)
