"""SRV-6: an unsupported Content-Type raises ValueError, which nothing handles: the client gets a 500 (a
server error, which SageMaker counts against the endpoint) instead of a 415."""

from edit import replace

replace(
    "/opt/program/app.py",
    """        raise MediaTypeError(f"unsupported Content-Type {header[:100]!r}: this model accepts {CSV_TYPE}")""",
    """        raise ValueError(f"unsupported Content-Type {header[:100]!r}")  # broken: unhandled -> 500""",
)
