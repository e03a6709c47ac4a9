"""The decision-tree algorithm (algorithm_tree.py, the reference module) plus `warmup_seconds`.

`warmup_seconds` sleeps before the fit, so that a training run lasts long enough to be stopped; it
stands for the minutes a real training job runs. Everything else is the reference algorithm.
"""

from __future__ import annotations

import time
from typing import Any

import algorithm_tree as _tree
from algorithm_tree import CHANNELS, LABEL_TYPE, MODEL_FILENAME, NAME, load, n_features, predict, save
from common import Hyperparameter, LabelledData, real

__all__ = ["CHANNELS", "HYPERPARAMETERS", "LABEL_TYPE", "MODEL_FILENAME", "NAME", "fit", "load", "n_features",
           "predict", "save"]

HYPERPARAMETERS: dict[str, Hyperparameter] = {
    **_tree.HYPERPARAMETERS,
    "warmup_seconds": Hyperparameter(real(minimum=0), 0.0, "sleep this long before fitting (a long job)"),
}


def fit(train: LabelledData, validation: LabelledData | None, hp: dict[str, Any]) -> Any:
    hp = dict(hp)
    time.sleep(hp.pop("warmup_seconds"))
    return _tree.fit(train, validation, hp)
