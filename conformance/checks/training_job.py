"""TRN: what else a real training job brings: stray files, extra config files, metric lines, checkpoints."""

from __future__ import annotations

import re
from collections.abc import Iterator

from conformance import contract
from conformance.context import CheckContext
from conformance.failures import CheckSkipped, Violation, head
from conformance.opt_ml import (
    TRAIN_EXTRA_CONFIG_FILES,
    TRAIN_STRAY_FILES,
    TrainSpec,
    extra_config_files,
)
from conformance.registry import Level, check
from conformance.training_runs import must_train, needs_trn1, run_evidence, run_outcome, variant_run


@check(
    "TRN-8",
    Level.SHOULD,
    "Stray files and nested folders in a channel are tolerated",
    source=contract.DG_TRAIN_INFO,
    uses=(TRAIN_STRAY_FILES,),
)
def stray_files_tolerated(ctx: CheckContext) -> Iterator[Violation]:
    """Stray files (_SUCCESS, README.txt) and nested folders in a channel are tolerated, or fail cleanly under
    TRN-4/5 (non-zero exit and a failure file).

    Why: A channel is an S3 prefix copied as it is, key structure included: it can hold Spark's _SUCCESS markers,
    README files and nested folders. An image that reads every file as data crashes obscurely, or trains on the
    wrong rows.

    How: Adds _SUCCESS, README.txt and a nested folder holding copies of the data to the training channel and
    trains: the run must succeed with a model, or fail cleanly (a non-zero exit and a non-empty failure file).
    One run with TRN-2, TRN-6, TRN-8 and TRN-9's conditions together stands for each while it trains cleanly; when it
    does not, this condition runs on its own and is judged alone.
    """
    needs_trn1(ctx)
    result = variant_run(ctx, TRAIN_STRAY_FILES)
    if result.exit_code == 0 and not result.hung:
        if not result.model_files:
            yield Violation(
                "Training with stray files exited 0 but wrote no model",
                expected=f"a model in {contract.MODEL_DIR}",
                actual="empty",
            )
        return
    if result.hung or not (result.failure or "").strip():
        yield Violation(
            "A channel with stray files and nested folders broke training without a clean failure",
            expected="exit 0, or a non-zero exit with a non-empty failure file",
            actual=run_outcome(result) + (", no failure file" if not (result.failure or "").strip() else ""),
            evidence=(
                ("Channel layout", "_SUCCESS, README.txt and nested/deeper/<copies of the data> were added"),
                *run_evidence(result, ctx),
            ),
        )


@check(
    "TRN-9",
    Level.MUST,
    "Extra config files SageMaker writes (checkpoints, debugger, job config, unknown) are tolerated",
    source=contract.API_CREATE_TRAINING,
    uses=(TRAIN_EXTRA_CONFIG_FILES,),
)
def extra_config_files_tolerated(ctx: CheckContext) -> Iterator[Violation]:
    """Files in /opt/ml/input/config besides hyperparameters.json, inputdataconfig.json and resourceconfig.json
    (checkpointconfig.json, trainingjobconfig.json, debughookconfig.json, and any other) are tolerated: the run
    trains as it does without them.

    Why: SageMaker writes more than the three documented files into /opt/ml/input/config: checkpointconfig.json when
    the job sets CheckpointConfig, debughookconfig.json when it sets DebugHookConfig (SageMaker Debugger's hook
    reads it there), trainingjobconfig.json, and new ones over time. An image that lists the folder and rejects
    what it does not know fails as soon as a user turns on checkpoints or the debugger, or when the service adds a
    file.

    How: Trains again with the test-dir, plus checkpointconfig.json, trainingjobconfig.json, debughookconfig.json
    and a file no image can know (sagemaker-conformance-unknown.json) in /opt/ml/input/config; the run must exit 0
    with a model and no failure file.
    One run with TRN-2, TRN-6, TRN-8 and TRN-9's conditions together stands for each while it trains cleanly; when it
    does not, this condition runs on its own and is judged alone.
    """
    needs_trn1(ctx)
    names = ", ".join(sorted(extra_config_files()))
    yield from must_train(ctx, TRAIN_EXTRA_CONFIG_FILES, f"with extra files in {contract.INPUT_CONFIG_DIR} ({names})")


NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def cloudwatch_lines(logs: str) -> list[str]:
    """The run's log as CloudWatch holds it: one event per line, a tab shown as #011."""
    return [line.replace("\t", contract.LOG_TAB) for line in logs.splitlines()]


def metric_values(lines: list[str], regex: str) -> tuple[list[str], list[str]]:
    """What a metric definition captures in ``lines``: (values that are numbers, captures that are not).

    As SageMaker does, the value is the regex's first group (the whole match when it has none)."""
    pattern = re.compile(regex)
    numbers: list[str] = []
    others: list[str] = []
    for line in lines:
        found = pattern.search(line)
        if found is None:
            continue
        value = (found.group(1) if pattern.groups else found.group(0)) or ""
        (numbers if NUMBER.match(value.strip()) else others).append(value)
    return numbers, others


@check(
    "TRN-11",
    Level.CONDITIONAL,
    "Each declared metric definition matches a number in the training log as CloudWatch shows it",
    source=contract.DG_METRICS,
)
def metric_definitions_match(ctx: CheckContext) -> Iterator[Violation]:
    """If the policy declares metric definitions (`[train] metric_definitions`, as a user gives them to the
    Estimator), each one's regex matches a line of the training log as CloudWatch shows it (no TTY, a tab as
    `#011`), and its first group is a number.

    Why: SageMaker publishes a custom image's metrics only through MetricDefinitions: it searches the job's log with
    each regex and takes the first group as the value; hyperparameter tuning optimises on it. A regex that matches
    nothing, or captures something that is not a number, leaves the metric empty and a tuning job blind, and
    nothing fails to say so. The log is not what a terminal shows: without a TTY there are no colours or progress
    bars, and CloudWatch shows a tab as #011, so a regex written against a terminal can miss.

    How: Skipped unless the policy declares metric definitions. Reads the default training run's log (stdout and
    stderr, no TTY, everything the run wrote before it ended), splits it into lines, shows each tab as #011, and
    requires for each definition at least one line where the regex matches and the first group (the whole match
    when the regex has no group) is a number.
    """
    definitions = ctx.policy.metric_definitions
    if not definitions:
        raise CheckSkipped("the policy declares no metric definitions ([train] metric_definitions in conformance.toml)")
    training = needs_trn1(ctx)
    lines = cloudwatch_lines(training.run.logs)
    for name, regex in definitions:
        numbers, others = metric_values(lines, regex)
        if numbers:
            continue
        raw, _ = metric_values(training.run.logs.splitlines(), regex)
        # The lines a reader looks for: those naming the metric or holding a tab, else the log's start.
        token = name.rsplit(":", 1)[-1]
        near = [line for line in lines if token in line or contract.LOG_TAB in line] or lines
        evidence = [("Log lines as CloudWatch shows them", head("\n".join(near), 40))]
        if raw:
            evidence.insert(
                0,
                (
                    "Hint",
                    f"The regex matches the log with real tabs (e.g. {raw[0]!r}) but CloudWatch shows a tab as "
                    f"{contract.LOG_TAB}: print a space or match {contract.LOG_TAB}.",
                ),
            )
        yield Violation(
            f"Metric {name!r} captures no number from the training log",
            expected=f"a line matching {regex!r} whose first group is a number",
            actual=f"{len(others)} match(es), none a number: {', '.join(map(repr, others[:5]))}"
            if others
            else f"no line matches (of {len(lines)} log lines)",
            evidence=tuple(evidence),
        )


@check(
    "TRN-13",
    Level.CONDITIONAL,
    "A run stopped midway resumes from /opt/ml/checkpoints and finishes (resumable images)",
    source=contract.DG_CKPT,
)
def resumes_from_checkpoints(ctx: CheckContext) -> Iterator[Violation]:
    """If the policy declares that training resumes from checkpoints (`[train] resume_log`, the regex of the line
    the image logs when it does), a run stopped by SIGTERM once it has written to /opt/ml/checkpoints, run again on
    a copy of that folder, logs that it resumed, exits 0 and writes a model.

    Why: With CheckpointConfig, SageMaker syncs /opt/ml/checkpoints to S3 during training and copies it back into
    the next job, and managed spot training restarts an interrupted job that way. An image that writes checkpoints
    but never reads them starts over after every interruption, and one that cannot read its own checkpoints fails
    the restarted job.

    How: Skipped unless the policy declares resume_log. Trains with checkpointconfig.json in
    /opt/ml/input/config (and [train] sigterm_hyperparameters when given, so the run lasts), stops the run with
    SIGTERM as soon as a file appears in /opt/ml/checkpoints, copies that folder into a second run of the same
    configuration, and requires that run to exit 0 with a model and a log line matching resume_log.
    """
    pattern = ctx.policy.resume_log
    if pattern is None:
        raise CheckSkipped("the policy does not declare resumable training ([train] resume_log in conformance.toml)")
    needs_trn1(ctx)
    hyperparameters = dict(ctx.policy.sigterm_hyperparameters) or None
    first = variant_run(
        ctx,
        TrainSpec("checkpoint-stopped", hyperparameters=hyperparameters, extra_config=True, stop_at_checkpoint=True),
    )
    if not first.checkpoint_files:
        yield Violation(
            f"Training wrote nothing to {contract.CHECKPOINTS_DIR}, though the policy declares it resumes from there",
            expected=f"a checkpoint file in {contract.CHECKPOINTS_DIR} before the run ends",
            actual=run_outcome(first) + f"; {contract.CHECKPOINTS_DIR} empty",
            evidence=run_evidence(first, ctx),
        )
        return
    if first.stop is None:
        raise CheckSkipped(
            f"training finished ({run_outcome(first)}) before the harness saw its checkpoint, "
            "so it could not be stopped "
            "midway; give [train] sigterm_hyperparameters in conformance.toml that make it run longer"
        )
    saved = first.model_dir.parent / "checkpoints"
    second = variant_run(
        ctx, TrainSpec("checkpoint-resumed", hyperparameters=hyperparameters, extra_config=True, checkpoints=saved)
    )
    listing = ", ".join(sorted(first.checkpoint_files)[:10])
    stopped = (
        "First run",
        f"stopped by SIGTERM once it wrote a checkpoint ({run_outcome(first)}), leaving in {contract.CHECKPOINTS_DIR}: "
        f"{listing}",
    )
    if second.timed_out or second.exit_code != 0 or not second.model_files:
        yield Violation(
            "Training on the checkpoints of a stopped run did not finish",
            expected="exit code 0 and a model",
            actual=run_outcome(second) + ("" if second.model_files else ", no model"),
            evidence=(stopped, *run_evidence(second, ctx)),
        )
        return
    if not any(re.search(pattern, line) for line in second.logs.splitlines()):
        yield Violation(
            "Training on the checkpoints of a stopped run did not resume: it started over",
            expected=f"a log line matching resume_log {pattern!r}",
            actual=f"no such line in {len(second.logs.splitlines())} log lines; the run took {second.seconds:.1f} s "
            f"(the stopped one {first.seconds:.1f} s)",
            evidence=(stopped, *run_evidence(second, ctx)),
        )
