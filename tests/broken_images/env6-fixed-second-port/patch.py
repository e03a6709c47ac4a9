"""ENV-6: the image keeps the accept-bind-to-port label and honours SAGEMAKER_BIND_TO_PORT, but gunicorn also
listens on the fixed port 127.0.0.1:8000 (a common debugging or metrics listener), outside
SAGEMAKER_SAFE_PORT_RANGE. One copy works; a second copy in the same network namespace cannot bind 8000 and exits."""

from edit import replace

replace(
    "/opt/program/serve",
    '"--bind", f"unix:{GUNICORN_SOCKET}",',
    '"--bind", f"unix:{GUNICORN_SOCKET}", "--bind", "127.0.0.1:8000",  # broken: a fixed second port',
)
