"""SRV-14: at start-up, serve fetches https://pypi.org/simple/scikit-learn/ (the first step of a start-up
`pip install`, https://github.com/aws/amazon-sagemaker-examples/issues/2995) and exits when it cannot: without egress the container never serves."""

from edit import replace

replace(
    "/opt/program/serve",
    """    wsgi_app = os.environ.get("SMC_WSGI_APP", "app:app")
""",
    """    import urllib.request

    try:  # broken: needs egress at start-up
        urllib.request.urlopen("https://pypi.org/simple/scikit-learn/", timeout=10).close()
    except OSError as exc:
        log.error("cannot start: PyPI is unreachable: %s", exc)
        return 1
    wsgi_app = os.environ.get("SMC_WSGI_APP", "app:app")
""",
)
