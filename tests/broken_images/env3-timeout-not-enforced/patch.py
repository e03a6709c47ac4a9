"""ENV-3: serve runs a home-made pre-fork server (prefork.py) straight on the port, without nginx. It takes
--timeout from MODEL_SERVER_TIMEOUT, so the timeout shows on its command line, but nothing enforces it: a
request to a worker that stops answering is never cut off. Everything else (workers, threads, port) follows
the reference stack."""

from edit import replace

replace(
    "/opt/program/serve",
    """    gunicorn_argv = [
        "gunicorn",
        "--bind", f"unix:{GUNICORN_SOCKET}",
        "--workers", str(workers),
        "--worker-class", "gthread",
        "--threads", str(THREADS_PER_WORKER),
        "--timeout", str(timeout_s),
        "--graceful-timeout", str(GRACEFUL_TIMEOUT_S),
        "--chdir", str(PROGRAM_DIR),
        "--error-logfile", "-",
        "--preload",
        wsgi_app,
    ]  # fmt: skip""",
    """    gunicorn_argv = [
        "python3", str(PROGRAM_DIR / "prefork.py"),
        "--bind", f"0.0.0.0:{port}",
        "--workers", str(workers),
        "--threads", str(THREADS_PER_WORKER),
        "--timeout", str(timeout_s),  # broken: prefork.py logs it and never enforces it
        "--chdir", str(PROGRAM_DIR),
        wsgi_app,
    ]  # fmt: skip""",
)
replace(
    "/opt/program/serve",
    "while not GUNICORN_SOCKET.exists() and time.monotonic() < deadline and not _stop_signal:",
    "while False:  # no unix socket and no nginx: prefork.py listens on the port itself",
)
replace(
    "/opt/program/serve",
    """            children[spawn(["nginx", "-c", str(NGINX_CONF)], env)] = "nginx\"""",
    """            pass  # no nginx in front""",
)
