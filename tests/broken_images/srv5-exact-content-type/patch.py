"""SRV-5: the Content-Type is compared as a string, so `text/csv; charset=utf-8` gets a 415 although it is
the same media type as `text/csv`."""

from edit import replace

replace(
    "/opt/program/app.py",
    """    mimetype, options = parse_options_header(header)
""",
    """    if header != CSV_TYPE:  # broken: parameters are not understood
        raise MediaTypeError(f"unsupported Content-Type {header[:100]!r}: this model accepts {CSV_TYPE}")
    mimetype, options = parse_options_header(header)
""",
)
