"""Fit a tiny tree at build time and write it where the image's algorithm would look for a model."""

from __future__ import annotations

import sys
from pathlib import Path

import algorithm  # PYTHONPATH=/opt/program (see the Dockerfile)
import numpy as np
from common import LabelledData

target = Path(sys.argv[1])
target.mkdir(parents=True, exist_ok=True)
features = np.array([[5.1, 3.5, 1.4, 0.2], [7.0, 3.2, 4.7, 1.4], [6.3, 3.3, 6.0, 2.5]])
labels = np.array(["setosa", "versicolor", "virginica"], dtype=object)
data = LabelledData(features=features, labels=labels, files=[])
hyperparameters = {name: spec.default for name, spec in algorithm.HYPERPARAMETERS.items()}
algorithm.save(algorithm.fit(data, None, hyperparameters), target / algorithm.MODEL_FILENAME)
print("baked", sorted(p.name for p in target.iterdir()))
