"""SRV-4: the payload is split on newlines and the last piece dropped, assuming it is the empty string after
a final newline. Without a trailing newline, the last record silently gets no prediction."""

from edit import replace

replace(
    "/opt/program/app.py",
    """    return parse_feature_records(text, N_FEATURES)""",
    """    text = "\\n".join(text.split("\\n")[:-1])  # broken: assumes a trailing newline
    return parse_feature_records(text, N_FEATURES)""",
)
