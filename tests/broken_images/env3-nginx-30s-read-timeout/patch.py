"""ENV-3: gunicorn honours MODEL_SERVER_TIMEOUT, but nginx's proxy_read_timeout is a fixed 30 s, so nginx
cuts long requests off first with a 504 (https://github.com/aws/sagemaker-tensorflow-serving-container/issues/130, https://github.com/aws/sagemaker-containers/pull/185)."""

from edit import replace

replace(
    "/opt/program/nginx.conf.template",
    "proxy_read_timeout {{PROXY_TIMEOUT}};",
    "proxy_read_timeout 30s;  # broken: shorter than the model server's timeout",
)
