"""TRN-6: training downloads a file from the internet (here the PyPI index page of scikit-learn, standing for
pretrained weights or a `pip install` at run time) before it fits.

Under network isolation there is no egress: the name does not resolve and training fails cleanly (exit 2 and a
failure file that says the download failed).
"""

from edit import replace

replace(
    "/opt/program/train",
    """    import algorithm  # heavy (numpy, the ML library): imported after the signal handler is in place
""",
    """    import algorithm  # heavy (numpy, the ML library): imported after the signal handler is in place
    import urllib.request

    try:  # broken: needs egress during training
        urllib.request.urlopen("https://pypi.org/simple/scikit-learn/", timeout=10).close()
    except OSError as exc:
        raise UserError(f"download failed: pypi.org is unreachable: {exc}") from exc
""",
)
