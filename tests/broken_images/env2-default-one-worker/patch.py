"""ENV-2: without MODEL_SERVER_WORKERS, serve starts 1 worker instead of one per CPU (https://github.com/aws/sagemaker-python-sdk/issues/1275).
MODEL_SERVER_WORKERS=N still works (ENV-1 holds)."""

from edit import replace

replace(
    "/opt/program/serve",
    'workers = positive_int_env("MODEL_SERVER_WORKERS", len(os.sched_getaffinity(0)))',
    'workers = positive_int_env("MODEL_SERVER_WORKERS", 1)  # broken: the default ignores the CPUs',
)
