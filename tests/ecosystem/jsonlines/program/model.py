"""Multinomial logistic regression in plain Python: small enough to read, real enough to train and serve.

Features are standardised with the training data's means and deviations; the weights are fitted by full-batch
gradient descent from zeros, so the same data and hyperparameters always give the same model.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path


@dataclass(frozen=True)
class Model:
    classes: list[str]
    means: list[float]
    scales: list[float]
    weights: list[list[float]]
    biases: list[float]

    @property
    def width(self) -> int:
        return len(self.means)

    @cached_property
    def folded(self) -> tuple[list[list[float]], list[float]]:
        """The standardisation folded into the weights: one multiply-add per feature and class when predicting."""
        weights = [[w / s for w, s in zip(ws, self.scales, strict=True)] for ws in self.weights]
        shifts = [sum(w * m for w, m in zip(ws, self.means, strict=True)) for ws in weights]
        return weights, [b - shift for b, shift in zip(self.biases, shifts, strict=True)]

    def probabilities(self, row: Sequence[float]) -> list[float]:
        weights, biases = self.folded
        scores = [b + sum(map(operator.mul, ws, row)) for ws, b in zip(weights, biases, strict=True)]
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        return [e / total for e in exps]

    def predict(self, row: Sequence[float]) -> dict[str, object]:
        p = self.probabilities(row)
        best = max(range(len(p)), key=p.__getitem__)
        return {"predicted_label": self.classes[best], "probability": round(p[best], 6)}

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Model:
        return cls(**json.loads(path.read_text(encoding="utf-8")))


def fit(rows: Sequence[Sequence[float]], labels: Sequence[str], epochs: int, learning_rate: float) -> Model:
    classes = sorted(set(labels))
    width = len(rows[0])
    means = [sum(r[j] for r in rows) / len(rows) for j in range(width)]
    scales = [math.sqrt(sum((r[j] - means[j]) ** 2 for r in rows) / len(rows)) or 1.0 for j in range(width)]
    model = Model(classes, means, scales, [[0.0] * width for _ in classes], [0.0] * len(classes))
    xs = [[(v - m) / s for v, m, s in zip(r, means, scales, strict=True)] for r in rows]
    targets = [classes.index(label) for label in labels]
    for _ in range(epochs):
        grad_w = [[0.0] * width for _ in classes]
        grad_b = [0.0] * len(classes)
        for x, target in zip(xs, targets, strict=True):
            scores = [b + sum(map(operator.mul, ws, x)) for ws, b in zip(model.weights, model.biases, strict=True)]
            top = max(scores)
            exps = [math.exp(s - top) for s in scores]
            total = sum(exps)
            for k in range(len(classes)):
                error = exps[k] / total - (1.0 if k == target else 0.0)
                grad_b[k] += error
                for j in range(width):
                    grad_w[k][j] += error * x[j]
        step = learning_rate / len(rows)
        for k in range(len(classes)):
            model.biases[k] -= step * grad_b[k]
            for j in range(width):
                model.weights[k][j] -= step * grad_w[k][j]
    return model


def numbers(value: object, width: int) -> list[float]:
    """One instance as ``width`` finite numbers, or ValueError saying what is wrong with it."""
    if not isinstance(value, list):
        raise ValueError(f"an instance must be a list of {width} numbers, not {type(value).__name__}")
    if len(value) != width:
        raise ValueError(f"an instance must have {width} numbers, not {len(value)}")
    out = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, (int, float)) or not math.isfinite(item):
            raise ValueError(f"{item!r} is not a finite number")
        out.append(float(item))
    return out
