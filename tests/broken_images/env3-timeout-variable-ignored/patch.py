"""ENV-3: MODEL_SERVER_TIMEOUT is never read: gunicorn's --timeout stays 60 and nginx's proxy_read_timeout
65 s, whatever the variable says (https://github.com/aws/sagemaker-tensorflow-serving-container/issues/130, https://github.com/mlflow/mlflow/issues/1537)."""

from edit import replace

replace(
    "/opt/program/serve",
    'timeout_s = positive_int_env("MODEL_SERVER_TIMEOUT", DEFAULT_TIMEOUT_S)',
    "timeout_s = DEFAULT_TIMEOUT_S  # broken: MODEL_SERVER_TIMEOUT is never read",
)
