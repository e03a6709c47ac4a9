"""SRV-6: the Content-Type is never checked; any body that parses as CSV gets a 200, whatever media type it
claims (image/png included)."""

from edit import replace

replace(
    "/opt/program/app.py",
    """    if header is None or not header.strip():
        return  # no Content-Type at all: assume CSV, the only thing this model reads
""",
    """    return  # broken: every media type is read as CSV
""",
)
