"""TRN-11: the metric is logged as `train:accuracy=<TAB>0.97;`. A terminal shows a blank; CloudWatch shows
`train:accuracy=#0110.97;`, and the declared regex `train:accuracy=([0-9.eE+-]+);` captures nothing, so the
metric stays empty."""

from edit import replace

replace(
    "/opt/program/algorithm.py",
    """log.info("train:accuracy=%r;", accuracy)""",
    """log.info("train:accuracy=\\t%r;", accuracy)  # broken: a tab before the value""",
)
