"""ENV-5: the image keeps the com.amazonaws.sagemaker.capabilities.accept-bind-to-port=true label, but serve
never reads SAGEMAKER_BIND_TO_PORT and always listens on 8080."""

from edit import replace

replace(
    "/opt/program/serve",
    'port = positive_int_env("SAGEMAKER_BIND_TO_PORT", DEFAULT_PORT, maximum=65535)',
    "port = DEFAULT_PORT  # broken: SAGEMAKER_BIND_TO_PORT is never read",
)
