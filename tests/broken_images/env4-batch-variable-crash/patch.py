"""ENV-4: serve reads SAGEMAKER_BATCH with int(), so batch transform's SAGEMAKER_BATCH=true crashes it at
start-up with a ValueError. Without the variable (real-time endpoints) it starts normally."""

from edit import replace

replace(
    "/opt/program/serve",
    """        body_bytes = body_limit_bytes()
""",
    """        body_bytes = body_limit_bytes()
        if int(os.environ.get("SAGEMAKER_BATCH", "0")):  # broken: the variable is "true", not a number
            log.info("batch transform mode")
""",
)
