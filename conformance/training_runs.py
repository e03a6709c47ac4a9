"""A training run as the TRN checks judge it: how it ended, its evidence, and the runs every clause shares.

What the training check modules share: a check module never imports another, so it lives here.
"""

from __future__ import annotations

from collections.abc import Iterator

from conformance import contract
from conformance.context import CheckContext
from conformance.failures import DependencyFailed, Violation, head, shorten
from conformance.opt_ml import TRAIN_DEFAULT, TRAIN_MINIMAL_CONFIG, TrainSpec
from conformance.targets.results import TrainResult
from conformance.trainings import MINIMAL_FORM_NOTE, Training, variant_spec


def run_outcome(result: TrainResult) -> str:
    if result.start_error:
        return f"the container could not start: {result.start_error}"
    if result.serving is not None:
        return f"the run {result.describe()}"
    if result.timed_out:
        return f"still running after {result.seconds:.0f} s (the harness's budget for the run; see TRN-1)"
    return f"exit code {result.exit_code} after {result.seconds:.1f} s"


def config_files(ctx: CheckContext, result: TrainResult) -> str:
    config = ctx.stage / result.spec / "input" / "config"
    return head("\n".join(f"{p.name}: {p.read_text().strip()}" for p in sorted(config.glob("*.json"))), 40)


def run_evidence(result: TrainResult, ctx: CheckContext) -> tuple[tuple[str, str], ...]:
    evidence = [("Config files the harness wrote", config_files(ctx, result))]
    if result.failure is not None:
        evidence.append((contract.FAILURE_FILE, shorten(result.failure, 1500)))
    return tuple(evidence)


def variant_run(ctx: CheckContext, spec: TrainSpec) -> TrainResult:
    """A training run for any clause but TRN-1: when the container cannot even start, TRN-1 says why.

    When only local mode's minimal config files train (TRN-3), every variant uses that form too, so that each
    clause judges its own subject rather than the config files again."""
    if spec not in (TRAIN_DEFAULT, TRAIN_MINIMAL_CONFIG):
        variant = variant_spec(spec, ctx.training())
        if variant is not spec:
            spec = variant
            ctx.note(MINIMAL_FORM_NOTE)
    result = ctx.train(spec)
    if result.start_error and spec is not TRAIN_DEFAULT:
        raise DependencyFailed("TRN-1", f"the training container could not start: {result.start_error}")
    return result


def needs_trn1(ctx: CheckContext) -> Training:
    """Variants of the default run say nothing new when training on the test-dir failed in both config forms:
    TRN-1 says why."""
    training = ctx.training()
    if not training.trained:
        raise DependencyFailed("TRN-1", "training on the test-dir itself did not produce a model")
    return training


def must_train(ctx: CheckContext, spec: TrainSpec, what: str) -> Iterator[Violation]:
    """A run that must succeed: exit 0, a non-empty model, no failure file."""
    result = variant_run(ctx, spec)
    if result.timed_out or result.exit_code != 0:
        yield Violation(
            f"Training {what} failed",
            expected="exit code 0",
            actual=run_outcome(result),
            evidence=run_evidence(result, ctx),
        )
        return
    if not result.model_files:
        yield Violation(
            f"Training {what} exited 0 but wrote no model",
            expected=f"at least one file in {contract.MODEL_DIR} (SageMaker uploads it as model.tar.gz)",
            actual=f"{contract.MODEL_DIR} is empty",
            evidence=run_evidence(result, ctx),
        )
    if result.failure is not None:
        yield Violation(
            f"Training {what} exited 0 but left a failure file",
            expected=f"no {contract.FAILURE_FILE} after a successful run",
            actual=f"{contract.FAILURE_FILE}: {shorten(result.failure, 200)}",
        )
