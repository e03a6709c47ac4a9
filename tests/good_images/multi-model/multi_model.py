"""WSGI entry `multi_model:app`: the reference app, or a multi-model endpoint's /models API.

With SAGEMAKER_MULTI_MODEL=true (a multi-model endpoint) nothing is at /opt/ml/model: /ping answers at once, and
SageMaker loads, lists, invokes and unloads models through /models. The loaded models are recorded under /tmp, one
file per name, so that every gunicorn worker sees the same set; each worker loads a model's file on first use.
Without the variable this is exactly the reference app (app.py).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

if os.environ.get("SAGEMAKER_MULTI_MODEL", "").lower() != "true":
    from app import app  # one model at /opt/ml/model, as before
else:
    import algorithm
    import flask
    from common import UserError, format_predictions, one_line, parse_feature_records

    REGISTRY = Path("/tmp/multi-model")  # shared by the workers; never under /opt/ml
    REGISTRY.mkdir(exist_ok=True)
    CACHE: dict[str, tuple[str, Any]] = {}  # model_name -> (url, loaded model), per worker

    app = flask.Flask(__name__)

    def record(name: str) -> Path:
        return REGISTRY / (hashlib.sha256(name.encode()).hexdigest() + ".json")

    def text(status: int, message: str) -> flask.Response:
        return flask.Response(one_line(message) + "\n", status=status, mimetype="text/plain")

    def loaded(name: str) -> dict[str, str] | None:
        try:
            return json.loads(record(name).read_text())
        except (FileNotFoundError, ValueError):
            return None

    def model_of(name: str, url: str) -> Any:
        cached = CACHE.get(name)
        if cached is None or cached[0] != url:
            CACHE[name] = (url, algorithm.load(Path(url) / algorithm.MODEL_FILENAME))
        return CACHE[name][1]

    @app.get("/ping")
    def ping() -> flask.Response:
        return flask.Response(b"", status=200)

    @app.post("/models")
    def load() -> flask.Response:
        request = flask.request.get_json(silent=True) or {}
        name, url = request.get("model_name"), request.get("url")
        if not isinstance(name, str) or not name or not isinstance(url, str):
            return text(400, 'expected {"model_name": "...", "url": "..."}')
        if record(name).exists():
            return text(409, f"model {name!r} is already loaded")
        try:
            model_of(name, url)
        except (OSError, UserError) as exc:
            return text(404, f"cannot load {url!r}: {exc}")
        try:
            with record(name).open("x") as handle:  # exclusive: two workers loading one name, one wins
                json.dump({"modelName": name, "modelUrl": url}, handle)
        except FileExistsError:
            return text(409, f"model {name!r} is already loaded")
        return flask.jsonify(status=f"model {name} loaded")

    @app.get("/models")
    def list_models() -> flask.Response:
        models = [json.loads(path.read_text()) for path in sorted(REGISTRY.glob("*.json"))]
        return flask.jsonify(models=sorted(models, key=lambda m: m["modelName"]))

    @app.get("/models/<path:name>")
    def get_model(name: str) -> flask.Response:
        found = loaded(name)
        return flask.jsonify(found) if found else text(404, f"model {name!r} is not loaded")

    @app.delete("/models/<path:name>")
    def unload(name: str) -> flask.Response:
        try:
            record(name).unlink()
        except FileNotFoundError:
            return text(404, f"model {name!r} is not loaded")
        CACHE.pop(name, None)
        return flask.jsonify(status=f"model {name} unloaded")

    @app.post("/models/<path:name>/invoke")
    def invoke(name: str) -> flask.Response:
        found = loaded(name)
        if found is None:
            return text(404, f"model {name!r} is not loaded")
        model = model_of(name, found["modelUrl"])
        try:
            body = flask.request.get_data(cache=False).decode("utf-8-sig")
            features = parse_feature_records(body, algorithm.n_features(model))
        except (UnicodeDecodeError, UserError) as exc:
            return text(400, str(exc))
        predictions = algorithm.predict(model, features)
        return flask.Response(format_predictions(predictions), status=200, content_type="text/csv; charset=utf-8")
