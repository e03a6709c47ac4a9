"""SRV-9: nginx's client_max_body_size is its default 1m, so a 6 MB payload gets 413 from the proxy."""

from edit import replace

replace(
    "/opt/program/nginx.conf.template",
    "client_max_body_size {{MAX_BODY}};",
    "client_max_body_size 1m;  # broken: nginx's default",
)
