"""Which training run stands for the image's training, and what every other run may take: pure rules over
:class:`~conformance.targets.results.TrainResult`, shared by the certification (conformance.sharing) and the
training checks."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from conformance.opt_ml import TRAIN_DEFAULT, TRAIN_MINIMAL_CONFIG, TrainSpec
from conformance.targets.results import TrainResult


def produced_model(result: TrainResult) -> bool:
    """The run trained: it exited 0 and left a model."""
    return not result.hung and result.start_error is None and result.exit_code == 0 and bool(result.model_files)


@dataclass(frozen=True)
class Training:
    """The run that stands for the image's training, and the config form it used.

    Normally the default run (the test-dir with the full config files SageMaker writes). When that run exits
    non-zero, the same tree with local mode's minimal config files is tried: if that one trains, the full form is
    what broke (TRN-3 holds the evidence) and the other clauses judge the minimal run and use its model, instead of
    all skipping as if training itself were broken. A run that hung or could not start is not retried: a second
    try would only cost time.
    """

    run: TrainResult
    default: TrainResult
    config_form: str = "full"

    @property
    def trained(self) -> bool:
        return produced_model(self.run)

    @property
    def full_form_rejected(self) -> bool:
        return self.config_form == "minimal"


MINIMAL_SUFFIX = "-minimal-config"
"""What :func:`variant_spec` adds to a variant's name when only local mode's minimal config files train."""


def minimal_form(spec: TrainSpec) -> TrainSpec:
    """``spec`` with local mode's minimal config files (see :func:`variant_spec`)."""
    return dataclasses.replace(spec, name=spec.name + MINIMAL_SUFFIX, config_form="minimal")


def trained_cleanly(result: TrainResult) -> bool:
    """The run trained and left no failure file: what a run shared by several conditions must do to stand for
    each of them (otherwise each runs on its own)."""
    return produced_model(result) and result.failure is None


def variant_spec(spec: TrainSpec, training: Training) -> TrainSpec:
    """The run a clause other than TRN-1 and TRN-3 asks for: ``spec`` itself, or its minimal-config form when only
    local mode's minimal config files train (TRN-3 holds that), so that each clause judges its own subject."""
    if spec in (TRAIN_DEFAULT, TRAIN_MINIMAL_CONFIG) or not training.full_form_rejected:
        return spec
    return minimal_form(spec)


def working_training(train: Callable[[TrainSpec], TrainResult]) -> Training:
    """The default run, or the minimal-config run when only that one trains (see :class:`Training`)."""
    default = train(TRAIN_DEFAULT)
    if produced_model(default) or default.hung or default.start_error is not None or default.exit_code == 0:
        return Training(default, default)
    minimal = train(TRAIN_MINIMAL_CONFIG)
    if produced_model(minimal):
        return Training(minimal, default, "minimal")
    return Training(default, default)


RUN_BUDGET_FACTOR = 10.0
RUN_BUDGET_MIN_S = 60.0


def run_budget(train_timeout: float, default: TrainResult | None) -> float:
    """How long a training run may take: --train-timeout for the run on the test-dir (and any run before it);
    every other run trains on the same data, so 10 times as long as that run took, at least 60 s, is its budget,
    never more than --train-timeout. One still running then is hung (TRN-1 states the rule)."""
    if default is None or default.hung:
        return train_timeout
    return min(train_timeout, max(RUN_BUDGET_MIN_S, RUN_BUDGET_FACTOR * default.seconds))


MINIMAL_FORM_NOTE = (
    "the training run with the full documented config files failed and the run with local mode's minimal form "
    "trained: TRN-3 holds that failure, and this clause was judged with the minimal form"
)
MINIMAL_FORM_MODEL_NOTE = (
    "the model served came from the training run with local mode's minimal config files: the run with the full "
    "documented files failed (TRN-3)"
)
TEST_DIR_MODEL_NOTE = (
    "training produced no model (TRN-1), so the serving clauses were judged on the test-dir's model/ folder"
)
