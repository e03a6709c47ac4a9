"""Write test-dirs/decision_trees and test-dirs/catboost from scikit-learn's bundled data sets (no download).

Run once, with scikit-learn installed (the same version as reference_images/decision_trees/requirements.txt):
    python scripts/make-test-dirs.py
The output is committed; re-running it rewrites the same bytes.

decision_trees: iris (150 rows, class name first), payload = the AWS sample's 29 rows (iris rows 40-49,
90-99, 140-148, features only), and expected_output.csv = what a tree trained with the test-dir's
hyperparameters predicts for them (checked here against the known 10 x setosa, 10 x versicolor,
9 x virginica).
catboost: diabetes (442 rows, target first), payload = 20 rows of features.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from sklearn.datasets import load_diabetes, load_iris
from sklearn.tree import DecisionTreeClassifier

ROOT = Path(__file__).resolve().parent.parent / "test-dirs"
PAYLOAD_ROWS_IRIS = [*range(40, 50), *range(90, 100), *range(140, 149)]
PAYLOAD_ROWS_DIABETES = list(range(0, 442, 22))[:20]
DT_HYPERPARAMETERS = {"max_leaf_nodes": "20"}
CB_HYPERPARAMETERS = {"iterations": "200", "depth": "6", "learning_rate": "0.1"}

POLICY = """\
# Policy for the conformance harness (see the README, "Writing a test-dir").
profile = "train+serve"            # "train+serve" | "serve-only" | "train-only"
content_type = "text/csv"          # media type sent to /invocations
payload = "payload.csv"
{expected}csv_header = false                 # the image needs no header row

[env]
workers = "MODEL_SERVER_WORKERS"   # the variable that sets the worker count ("" = none)
timeout = "MODEL_SERVER_TIMEOUT"   # the variable that sets the request timeout ("" = none)

[waive]                            # SHOULD clauses downgraded to warnings: ID = "reason"
"""
EXPECTED_LINE = 'expected_output = "expected_output.csv"   # optional, deterministic models only\n'


def number(value: float) -> str:
    """Shortest round-tripping text of a float (what Python's repr gives)."""
    return repr(float(value))


def write_lines(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def write_common(name: str, hyperparameters: dict[str, str], training: list[str], payload: list[str]) -> Path:
    base = ROOT / name
    config = base / "input" / "config" / "hyperparameters.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(json.dumps(hyperparameters, indent=2) + "\n", encoding="utf-8")
    data_file = "iris.csv" if name == "decision_trees" else "diabetes.csv"
    write_lines(base / "input" / "data" / "training" / data_file, training)
    write_lines(base / "payload.csv", payload)
    return base


def make_decision_trees() -> None:
    iris = load_iris()
    labels = [str(iris.target_names[t]) for t in iris.target]
    training = [",".join([label, *map(number, row)]) for label, row in zip(labels, iris.data, strict=True)]
    payload = [",".join(map(number, iris.data[i])) for i in PAYLOAD_ROWS_IRIS]
    base = write_common("decision_trees", DT_HYPERPARAMETERS, training, payload)

    # Same model as the image: DecisionTreeClassifier(random_state=0, max_leaf_nodes=...), trained on the
    # text we just wrote (parsed back), so expected_output.csv is exactly what the image must answer.
    x = np.array([[float(v) for v in line.split(",")[1:]] for line in training])
    y = np.array([line.split(",")[0] for line in training], dtype=object)
    model = DecisionTreeClassifier(random_state=0, max_leaf_nodes=int(DT_HYPERPARAMETERS["max_leaf_nodes"]))
    model.fit(x, y)
    payload_x = np.array([[float(v) for v in line.split(",")] for line in payload])
    predicted = [str(p) for p in model.predict(payload_x)]
    known = ["setosa"] * 10 + ["versicolor"] * 10 + ["virginica"] * 9
    if predicted != known:
        sys.exit(f"decision_trees: the test-dir hyperparameters do not reproduce the AWS sample's answer: {predicted}")
    write_lines(base / "expected_output.csv", predicted)
    (base / "conformance.toml").write_text(POLICY.format(expected=EXPECTED_LINE), encoding="utf-8")
    print(f"wrote {base}: {len(training)} training rows, {len(payload)} payload rows, expected output checked")


def make_catboost() -> None:
    diabetes = load_diabetes()
    pairs = zip(diabetes.target, diabetes.data, strict=True)
    training = [",".join([number(target), *map(number, row)]) for target, row in pairs]
    payload = [",".join(map(number, diabetes.data[i])) for i in PAYLOAD_ROWS_DIABETES]
    base = write_common("catboost", CB_HYPERPARAMETERS, training, payload)
    # No expected output: a boosted model's floats are not guaranteed to match across CPUs and versions.
    (base / "conformance.toml").write_text(POLICY.format(expected=""), encoding="utf-8")
    print(f"wrote {base}: {len(training)} training rows, {len(payload)} payload rows")


if __name__ == "__main__":
    make_decision_trees()
    make_catboost()
