"""SRV-10: nginx's large_client_header_buffers are 1k, so a request carrying a full-size (1024-character)
X-Amzn-SageMaker-Custom-Attributes header is refused with 400 "Request Header Or Cookie Too Large"."""

from edit import replace

replace(
    "/opt/program/nginx.conf.template",
    """        client_max_body_size {{MAX_BODY}};""",
    """        client_max_body_size {{MAX_BODY}};
        large_client_header_buffers 4 1k;  # broken: too small for SageMaker's headers""",
)
