"""The reference app when a model is there; otherwise a WSGI app that answers 404 to everything and keeps running.

A server that is up but not healthy without a model is correct under SageMaker's contract (SRV-12 asks only that
/ping never answers 200), and it is the case where a watch of the whole start-up budget would cost the most.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

try:
    from app import app as model_app  # loads the model at import; raises RuntimeError naming what is missing
except RuntimeError as error:
    logging.getLogger("serve").warning("%s: answering 404 until a model is mounted and the server restarted", error)
    model_app = None

NO_MODEL = b"no model is loaded\n"


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if model_app is not None:
        return model_app(environ, start_response)
    start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", str(len(NO_MODEL)))])
    return [NO_MODEL]
