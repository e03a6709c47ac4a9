"""TRN-5: a failed run prints its cause to stderr only; /opt/ml/output/failure is never written, so
SageMaker's FailureReason would be a bare exit code. The exit code stays non-zero (TRN-4 holds)."""

from edit import replace

replace(
    "/opt/program/train",
    """    sys.stderr.flush()
    try:
        FAILURE_FILE.parent.mkdir(parents=True, exist_ok=True)""",
    """    sys.stderr.flush()
    if True:  # broken: the cause only goes to the log
        return
    try:
        FAILURE_FILE.parent.mkdir(parents=True, exist_ok=True)""",
)
