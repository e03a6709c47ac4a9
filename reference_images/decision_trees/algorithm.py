"""Decision-tree classifier (scikit-learn): the algorithm half of the `decision_trees` reference image.

The shared stack (`train`, `serve`, `app.py`) calls only the names below; everything SageMaker-specific
(paths, signals, failure file, HTTP) lives there, so another algorithm only has to replace this file and
its requirements.txt.

Training uses scikit-learn's DecisionTreeClassifier. The model file holds the fitted tree's arrays (a
pickle of plain lists, numbers and strings, not of scikit-learn objects), and serving walks the tree with
numpy alone. Why: importing scikit-learn (and the SciPy modules it pulls in) costs about a second of CPU
per gunicorn worker, which alone broke the 2-second cold-start budget on a 2-CPU host. `fit` checks that
the exported tree predicts exactly what scikit-learn predicts on the training data.
"""

from __future__ import annotations

import io
import logging
import pickle
from pathlib import Path
from typing import Any

import numpy as np
from common import Hyperparameter, LabelledData, UserError, choice, integer

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
MODEL_FORMAT = "sagemaker-conformance/decision-tree/1"
_ARRAYS = ("children_left", "children_right", "feature", "threshold", "leaf_class")


class Tree:
    """A fitted binary decision tree as flat arrays (scikit-learn's own layout), with a vectorised predict."""

    def __init__(self, arrays: dict[str, np.ndarray], classes: list[str], n_features: int, depth: int) -> None:
        self.children_left = arrays["children_left"].astype(np.intp)
        self.children_right = arrays["children_right"].astype(np.intp)
        self.feature = arrays["feature"].astype(np.intp)
        self.threshold = arrays["threshold"].astype(np.float64)
        self.leaf_class = arrays["leaf_class"].astype(np.intp)
        self.classes = np.array(classes, dtype=object)
        self.n_features = n_features
        self.depth = depth

    def predict(self, features: np.ndarray) -> np.ndarray:
        # scikit-learn compares float32 inputs with float64 thresholds: do exactly the same.
        x = features.astype(np.float32).astype(np.float64)
        rows = np.arange(len(x))
        node = np.zeros(len(x), dtype=np.intp)
        for _ in range(self.depth + 1):
            left = self.children_left[node]
            leaf = left == -1  # scikit-learn's TREE_LEAF
            if leaf.all():
                break
            feature = np.where(leaf, 0, self.feature[node])  # leaves have feature -2: any valid column will do
            go_left = x[rows, feature] <= self.threshold[node]
            node = np.where(leaf, node, np.where(go_left, left, self.children_right[node]))
        return self.classes[self.leaf_class[node]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": MODEL_FORMAT,
            "classes": [str(c) for c in self.classes],
            "n_features": self.n_features,
            "depth": self.depth,
            # Plain lists (exact: pickle stores floats as binary doubles), so the file needs no numpy to read.
            **{name: getattr(self, name).tolist() for name in _ARRAYS},
        }


def fit(train: LabelledData, validation: LabelledData | None, hp: dict[str, Any]) -> Tree:
    del validation  # this algorithm declares no validation channel
    from sklearn.tree import DecisionTreeClassifier  # training only: serving never imports scikit-learn

    estimator = DecisionTreeClassifier(random_state=RANDOM_STATE, **hp)
    estimator.fit(train.features, train.labels)
    tree = estimator.tree_
    arrays = {
        "children_left": tree.children_left,
        "children_right": tree.children_right,
        "feature": tree.feature,
        "threshold": tree.threshold,
        "leaf_class": np.argmax(tree.value[:, 0, :], axis=1),  # what predict() picks: the first maximum
    }
    model = Tree(arrays, [str(c) for c in estimator.classes_], int(estimator.n_features_in_), int(tree.max_depth))
    expected = estimator.predict(train.features)
    if not np.array_equal(model.predict(train.features), expected):
        raise RuntimeError("the exported tree does not reproduce scikit-learn's predictions")
    accuracy = float(np.mean(expected == train.labels))
    log.info("fitted a tree with %d leaves, depth %d", estimator.get_n_leaves(), estimator.get_depth())
    log.info("train:accuracy=%r;", accuracy)
    return model


def save(model: Tree, path: Path) -> None:
    with path.open("wb") as f:
        pickle.dump(model.to_dict(), f, protocol=pickle.HIGHEST_PROTOCOL)


class _PlainDataUnpickler(pickle.Unpickler):
    """Unpickle plain data only (dicts, lists, strings, numbers): a tampered model file cannot run code."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a model file")


def load(path: Path) -> Tree:
    try:
        data = _PlainDataUnpickler(io.BytesIO(path.read_bytes())).load()
    except Exception as exc:
        raise UserError(f"{path} is not a model written by this image's train ({type(exc).__name__}: {exc})") from exc
    if not isinstance(data, dict) or data.get("format") != MODEL_FORMAT:
        raise UserError(f"{path} is not a model written by this image's train (expected format {MODEL_FORMAT})")
    try:
        arrays = {name: np.asarray(data[name]) for name in _ARRAYS}
        tree = Tree(arrays, [str(c) for c in data["classes"]], int(data["n_features"]), int(data["depth"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"{path} is incomplete or corrupt ({type(exc).__name__}: {exc})") from exc
    if not _consistent(tree):
        raise UserError(f"{path} is corrupt: inconsistent tree arrays")
    return tree


def _consistent(tree: Tree) -> bool:
    """Every index in range, so that predict can never fail on a loaded tree."""
    nodes = len(tree.children_left)
    if nodes < 1 or tree.n_features < 1 or len(tree.classes) < 1 or tree.depth < 0:
        return False
    if any(len(getattr(tree, name)) != nodes for name in _ARRAYS):
        return False
    internal = tree.children_left != -1
    children_ok = all(
        bool(((a[internal] > 0) & (a[internal] < nodes)).all()) for a in (tree.children_left, tree.children_right)
    )
    features_ok = bool(((tree.feature[internal] >= 0) & (tree.feature[internal] < tree.n_features)).all())
    classes_ok = bool(((tree.leaf_class >= 0) & (tree.leaf_class < len(tree.classes))).all())
    return children_ok and features_ok and classes_ok


def n_features(model: Tree) -> int:
    return model.n_features


def predict(model: Tree, features: np.ndarray) -> list[Any]:
    return list(model.predict(features).tolist())
