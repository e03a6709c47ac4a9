"""CatBoost regressor: the algorithm half of the `catboost` reference image.

The shared stack (`train`, `serve`, `app.py` in stack/) calls only the names below. Metric lines are logged in the
form `<split>:<metric>=<value>;` so that SageMaker MetricDefinitions can pick them up, for example
`validation:rmse=([0-9.eE+-]+);` (see README.md next to this file).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
from catboost import CatBoostError, CatBoostRegressor
from common import Hyperparameter, LabelledData, UserError, choice, integer, real

log = logging.getLogger("algorithm")

NAME = "catboost"
MODEL_FILENAME = "catboost-regressor-model.cbm"
LABEL_TYPE = "float"  # the regression target in the first CSV column
CHANNELS = {"training": True, "validation": False}  # channel name -> required

HYPERPARAMETERS: dict[str, Hyperparameter] = {
    "iterations": Hyperparameter(integer(minimum=1, maximum=100_000), 300, "number of trees"),
    "depth": Hyperparameter(integer(minimum=1, maximum=16), 6, "depth of each tree"),
    "learning_rate": Hyperparameter(real(minimum=1e-6, maximum=1.0), 0.1, "step size"),
    "l2_leaf_reg": Hyperparameter(real(minimum=0.0), 3.0, "L2 regularisation"),
    "loss_function": Hyperparameter(choice("RMSE", "MAE", "Quantile", "Huber:delta=1.0"), "RMSE", "loss"),
    # Used only without a validation channel: this share of the training records is held out to report
    # validation metrics (0 trains on everything and reports training metrics only).
    "holdout_fraction": Hyperparameter(real(minimum=0.0, maximum=0.5), 0.2, "holdout share without a validation"),
}

RANDOM_SEED = 0  # fixed: the same data and hyperparameters give the same model


def _threads() -> int:
    return max(1, len(os.sched_getaffinity(0)))


def _metrics(split: str, model: CatBoostRegressor, data_x: np.ndarray, data_y: np.ndarray) -> None:
    error = np.asarray(model.predict(data_x), dtype=np.float64) - data_y  # both 1-D: no broadcasting to n x n
    rmse = float(np.sqrt(np.mean(error**2)))
    mae = float(np.mean(np.abs(error)))
    log.info("%s:rmse=%r;", split, rmse)
    log.info("%s:mae=%r;", split, mae)


def fit(train: LabelledData, validation: LabelledData | None, hp: dict[str, Any]) -> CatBoostRegressor:
    hp = dict(hp)
    holdout = hp.pop("holdout_fraction")
    x, y = train.features, train.labels
    if validation is not None:
        if validation.features.shape[1] != x.shape[1]:
            raise UserError(
                f"channel 'validation' has {validation.features.shape[1]} features per record, "
                f"channel 'training' has {x.shape[1]}"
            )
        vx, vy = validation.features, validation.labels
        log.info("validation channel: %d records", len(vy))
    elif holdout > 0 and len(y) >= 10:
        order = np.random.default_rng(RANDOM_SEED).permutation(len(y))
        cut = round(len(y) * holdout)
        vx, vy = x[order[:cut]], y[order[:cut]]
        x, y = x[order[cut:]], y[order[cut:]]
        log.info("no validation channel: holding out %d of %d records for validation metrics", cut, cut + len(y))
    else:
        vx = vy = None
    model = CatBoostRegressor(
        random_seed=RANDOM_SEED,
        thread_count=_threads(),
        allow_writing_files=False,  # otherwise CatBoost writes catboost_info/ into the working directory
        verbose=False,
        **hp,
    )
    try:
        model.fit(x, y, eval_set=(vx, vy) if vx is not None else None, use_best_model=False)
    except CatBoostError as exc:
        raise UserError(f"CatBoost rejected the data or hyperparameters: {exc}") from exc
    _metrics("train", model, x, y)
    if vx is not None:
        _metrics("validation", model, vx, vy)
    return model


def save(model: CatBoostRegressor, path: Path) -> None:
    model.save_model(str(path), format="cbm")


def load(path: Path) -> CatBoostRegressor:
    model = CatBoostRegressor()
    try:
        model.load_model(str(path), format="cbm")
    except CatBoostError as exc:
        raise UserError(f"{path} is not a readable CatBoost model ({exc})") from exc
    return model


def n_features(model: CatBoostRegressor) -> int:
    return len(model.feature_names_)


def predict(model: CatBoostRegressor, features: np.ndarray) -> list[Any]:
    # CatBoost evaluates float32 features stored column by column: handing it exactly that skips a copy and
    # its slower conversion path (a quarter of the time of a small request) and gives the same predictions.
    columns = np.asfortranarray(features, dtype=np.float32)
    # One thread for small requests (the server already runs one process per CPU); all CPUs for big ones.
    threads = 1 if len(features) < 10_000 else _threads()
    return list(np.asarray(model.predict(columns, thread_count=threads), dtype=np.float64).tolist())
