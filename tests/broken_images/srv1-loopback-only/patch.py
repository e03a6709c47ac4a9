"""SRV-1: nginx listens on 127.0.0.1:8080, so nothing outside the container reaches it."""

from edit import replace

replace(
    "/opt/program/nginx.conf.template",
    "listen 0.0.0.0:{{PORT}}",
    "listen 127.0.0.1:{{PORT}}",
)
