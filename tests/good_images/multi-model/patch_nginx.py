"""Let nginx forward the multi-model API (/models and /models/...) to gunicorn, like /ping and /invocations."""

from __future__ import annotations

from pathlib import Path

path = Path("/opt/program/nginx.conf.template")
text = path.read_text(encoding="utf-8")
anchor = "        location / {\n"
assert text.count(anchor) == 1, "nginx.conf.template changed: update tests/good_images/multi-model/patch_nginx.py"
route = "        location /models {\n            proxy_pass http://model_server;\n        }\n"
path.write_text(text.replace(anchor, route + anchor), encoding="utf-8")
