"""ENV-1: MODEL_SERVER_WORKERS is ignored; serve always starts one worker per CPU (the default stays right)."""

from edit import replace

replace(
    "/opt/program/serve",
    'workers = positive_int_env("MODEL_SERVER_WORKERS", len(os.sched_getaffinity(0)))',
    "workers = len(os.sched_getaffinity(0))  # broken: MODEL_SERVER_WORKERS is never read",
)
