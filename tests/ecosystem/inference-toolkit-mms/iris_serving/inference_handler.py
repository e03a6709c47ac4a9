"""The model-specific part: load the model and predict; the toolkit's defaults decode the request
(CSV, JSON, NPY) and encode the response in the Accept type."""

from __future__ import annotations

import json
import os

import numpy as np
from sagemaker_inference import default_inference_handler, errors


class NearestCentroidHandler(default_inference_handler.DefaultInferenceHandler):
    def default_model_fn(self, model_dir, context=None):
        with open(os.path.join(model_dir, "centroids.json")) as f:
            model = json.load(f)
        return np.asarray(model["centroids"], dtype=float), np.asarray(model["labels"])

    def default_predict_fn(self, data, model, context=None):
        centroids, labels = model
        try:
            rows = np.atleast_2d(np.asarray(data, dtype=float))
        except (TypeError, ValueError):  # non-numeric fields, an empty body
            rows = np.empty((0, 0))
        if rows.shape[1:] != centroids.shape[1:] or not np.isfinite(rows).all():
            # A client error, not a server one: the toolkit turns this into a 400 response.
            raise errors.GenericInferenceToolkitError(
                400, f"expected {centroids.shape[1]} numeric columns per row, got shape {rows.shape}"
            )
        distances = ((rows[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
        return labels[distances.argmin(axis=1)]
