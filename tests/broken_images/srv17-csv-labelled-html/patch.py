"""SRV-17: the answer is still CSV, but its Content-Type says text/html (a web framework's default)."""

from edit import replace

replace(
    "/opt/program/app.py",
    'RESPONSE_TYPE = "text/csv; charset=utf-8"',
    'RESPONSE_TYPE = "text/html; charset=utf-8"  # broken: CSV labelled as HTML',
)
