"""Decision-tree classifier (scikit-learn): the algorithm half of the `decision_trees` reference image.

The shared stack (`train`, `serve`, `app.py` in stack/) calls only the names below; everything
SageMaker-specific (paths, signals, failure file, HTTP) lives there, so another algorithm only has to replace
this file and its requirements.txt.

Training fits scikit-learn's DecisionTreeClassifier and saves the fitted estimator with joblib, as
scikit-learn's model persistence guide does; serving loads it with joblib and calls its `predict`. The
import of scikit-learn (about a second of CPU) is paid once per container: gunicorn imports the app, and so
this module and the model, in its master process before it forks the workers.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from common import Hyperparameter, LabelledData, UserError, choice, integer
from sklearn.tree import DecisionTreeClassifier

log = logging.getLogger("algorithm")

NAME = "decision_trees"
MODEL_FILENAME = "decision-tree-model.pkl"
LABEL_TYPE = "string"  # class names in the first CSV column
CHANNELS = {"training": True}  # channel name -> required

HYPERPARAMETERS: dict[str, Hyperparameter] = {
    "max_leaf_nodes": Hyperparameter(integer(minimum=2, optional=True), None, "grow at most this many leaves"),
    "max_depth": Hyperparameter(integer(minimum=1, optional=True), None, "maximum depth of the tree"),
    "min_samples_leaf": Hyperparameter(integer(minimum=1), 1, "minimum number of samples in a leaf"),
    "criterion": Hyperparameter(choice("gini", "entropy", "log_loss"), "gini", "split quality measure"),
}

# Fixed so that the same data and hyperparameters always give the same tree (and the same predictions).
RANDOM_STATE = 0


def fit(train: LabelledData, validation: LabelledData | None, hp: dict[str, Any]) -> DecisionTreeClassifier:
    del validation  # this algorithm declares no validation channel
    estimator = DecisionTreeClassifier(random_state=RANDOM_STATE, **hp)
    estimator.fit(train.features, train.labels)
    accuracy = float(np.mean(estimator.predict(train.features) == train.labels))
    log.info("fitted a tree with %d leaves, depth %d", estimator.get_n_leaves(), estimator.get_depth())
    log.info("train:accuracy=%r;", accuracy)
    return estimator


def save(model: DecisionTreeClassifier, path: Path) -> None:
    joblib.dump(model, path)


def load(path: Path) -> DecisionTreeClassifier:
    # joblib.load unpickles, which can run code: load only model files you trust. On SageMaker this is the
    # model.tar.gz that this image's own training job wrote.
    try:
        model = joblib.load(path)
    except Exception as exc:
        raise UserError(f"{path} is not a model written by this image's train ({type(exc).__name__}: {exc})") from exc
    if not isinstance(model, DecisionTreeClassifier) or not hasattr(model, "tree_"):
        raise UserError(f"{path} holds a {type(model).__name__}, not a fitted DecisionTreeClassifier")
    return model


def n_features(model: DecisionTreeClassifier) -> int:
    return int(model.n_features_in_)


def predict(model: DecisionTreeClassifier, features: np.ndarray) -> list[Any]:
    # The stack hands over a matrix it has already checked: float64, finite, n_features columns.
    # check_input=False skips scikit-learn's second check of it, two thirds of predict's time on a small
    # request (36 -> 11 us for the test-dir's 29 rows); the tree reads float32, which that check would
    # have converted to, so the predictions are the same.
    return list(model.predict(features.astype(np.float32), check_input=False).tolist())
