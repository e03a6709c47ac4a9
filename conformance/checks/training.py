"""TRN: `docker run IMAGE train` against a fresh /opt/ml built from the test-dir."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from conformance import contract
from conformance.context import MINIMAL_FORM_NOTE, CheckContext
from conformance.failures import CheckSkipped, DependencyFailed, Violation, shorten
from conformance.opt_ml import (
    TRAIN_DEFAULT,
    TRAIN_DEFAULTS_AND_EXTRA_KEYS,
    TRAIN_EMPTY_CHANNEL,
    TRAIN_HOSTNAME_IS_CURRENT_HOST,
    TRAIN_ISOLATED,
    TRAIN_MINIMAL_CONFIG,
    TrainSpec,
)
from conformance.pid1 import StopResult
from conformance.registry import Level, check
from conformance.testdir import Policy
from conformance.training_runs import config_files, must_train, needs_trn1, run_evidence, run_outcome, variant_run

SIGTERM_SETTLE_S = 0.0
"""How long training runs before TRN-7 may send SIGTERM: none, it is sent at the first look that finds PID 1 taking
it. (It was 0.5 s, and a short run such as the reference decision tree's could end before that on a quiet machine,
leaving TRN-7 unjudged; a PID 1 that takes SIGTERM is all the clause needs to be tested.)"""
RECEIVES_SIGTERM = "PID 1 takes SIGTERM: a handler (with `exec`, the program is PID 1) or an init that forwards it"
SIGTERM_HINT = (
    "Hint",
    "As PID 1, a process is sent SIGTERM only if it installs a handler; a shell-form ENTRYPOINT or a "
    "`sh -c` wrapper without `exec` keeps the signal from the program.",
)


@check("TRN-1", Level.MUST, "A valid /opt/ml tree trains", source=contract.DG_TRAIN_OUT)
def valid_tree_trains(ctx: CheckContext) -> Iterator[Violation]:
    """A valid /opt/ml tree trains: exit code 0, a non-empty /opt/ml/model, and no /opt/ml/output/failure.

    Judged on the test-dir with the full config files SageMaker writes. When that run fails but the same tree with
    local mode's minimal config files trains, the config form is what broke: TRN-3 fails with both runs as
    evidence, and this clause passes on the minimal run, with a note.

    The run may take --train-timeout (600 s by default). A run that, 30 s in or at a look every 5 s after, listens
    on port 8080 (where `serve` answers) and has written nothing to /opt/ml/model is serving, not training: it is
    stopped and fails here as such (or, when IMG-1 found that the ENTRYPOINT never passes `train` on, every
    training clause is skipped naming IMG-1). After a run that did not end by itself no other training run is
    started, since each would start the same program: the other training clauses skip naming this one. Every
    other run trains on the same data, so it gets 10 times as long as this run took (at least 60 s, at most
    --train-timeout); still running then, it is hung, as a run past --train-timeout is.

    Why: Exit code 0 is how SageMaker marks a job Completed, and it uploads /opt/ml/model as model.tar.gz for
    hosting. A run that exits 0 with an empty model directory, or leaves a failure file, is a job that looks fine
    and a model that cannot serve.

    How: Runs `docker run IMAGE train` against a fresh /opt/ml staged from the test-dir (hyperparameters.json with
    string values, inputdataconfig.json, resourceconfig.json, the channels), then reads the exit code, /opt/ml/model
    and /opt/ml/output/failure. The model it writes is the one every serving check uses.
    """
    training = ctx.training()
    if training.full_form_rejected:
        ctx.note(MINIMAL_FORM_NOTE)
        ctx.measure("train_seconds", training.run.seconds)
        return
    yield from must_train(ctx, TRAIN_DEFAULT, "on the test-dir")
    ctx.measure("train_seconds", ctx.train(TRAIN_DEFAULT).seconds)


@check(
    "TRN-2",
    Level.MUST,
    "Hyperparameters arrive as strings; {} and unknown keys train",
    source=contract.DG_TRAIN_INFO,
    uses=(TRAIN_DEFAULTS_AND_EXTRA_KEYS,),
)
def hyperparameters_as_sagemaker_sends_them(ctx: CheckContext) -> Iterator[Violation]:
    """Hyperparameter values arrive as JSON strings, exactly as SageMaker writes them; `{}` trains with defaults;
    unknown keys (`_tuning_objective_metric`, `sagemaker_*`) are tolerated.

    Why: SageMaker writes every hyperparameter value as a JSON string ("20", not 20), may send none at all, and adds
    keys of its own (automatic model tuning's `_tuning_objective_metric`, framework estimators' `sagemaker_*`). An
    image that expects numbers or rejects unknown keys fails on the service only.

    How: The default run (TRN-1) sends the test-dir's values as strings; this check trains again with a
    hyperparameters.json holding only the keys tuning and framework estimators add, so every hyperparameter takes
    its default and the unknown keys must be ignored. One run with TRN-2, TRN-6, TRN-8 and TRN-9's conditions
    together stands for each while it trains cleanly; when it does not, this condition runs on its own and is
    judged alone.
    """
    needs_trn1(ctx)
    keys = ", ".join(sorted(contract.TUNING_HYPERPARAMETERS))
    what = f"with defaults and only the keys tuning and framework estimators add ({keys})"
    yield from must_train(ctx, TRAIN_DEFAULTS_AND_EXTRA_KEYS, what)


@check(
    "TRN-3",
    Level.MUST,
    "inputdataconfig.json and resourceconfig.json are tolerated",
    source=contract.DG_TRAIN_INFO,
    uses=(TRAIN_MINIMAL_CONFIG,),  # the hostname run is a diagnosis of a failed default run only
)
def config_files_tolerated(ctx: CheckContext) -> Iterator[Violation]:
    """The documented inputdataconfig.json and resourceconfig.json (full form with extra keys, and the minimal
    local-mode form) are tolerated. The container's own host is current_host in resourceconfig.json, not its
    hostname: SageMaker documents /etc/hostname and /etc/hosts as possibly inaccurate, and the harness gives a
    random hostname, while every host in hosts resolves through DNS.

    The full form is the default run's (TRN-1). When that run fails and the minimal form trains, this clause
    fails with both runs as evidence, and the other clauses are judged with the minimal form and its model.

    Why: SageMaker writes inputdataconfig.json and resourceconfig.json into every training container, with more keys
    than most images read, and SageMaker's local mode writes a smaller form. An image that requires a key one of
    them lacks fails on the other; an image that finds its own host by its hostname fails on SageMaker, where the
    hostname is not current_host.

    How: The default run (TRN-1) gets the full documented files with extra keys and a random hostname, on a network
    where every host of resourceconfig.json resolves; this check trains again with local mode's minimal files. When
    the default run fails, the same run with the minimal files, and the same run with the hostname current_host,
    tell which of the two the image relies on.
    """
    relies = list(_relies_on_hostname(ctx))
    if relies:
        yield from relies
        return
    training = ctx.training()
    if training.full_form_rejected:
        full, minimal = training.default, training.run
        evidence = [("Full form the harness wrote (rejected)", config_files(ctx, full))]
        if full.failure is not None:
            evidence.append((f"{contract.FAILURE_FILE} of the full-form run", shorten(full.failure, 1500)))
        evidence.append(("Minimal form the harness wrote (trained)", config_files(ctx, minimal)))
        yield Violation(
            "Training with the full documented config files failed, while local mode's minimal form trained",
            expected="exit code 0 with the config files SageMaker writes for a training job (extra keys included)",
            actual=f"full form: {run_outcome(full)}; minimal form: exit code 0 and a model",
            evidence=tuple(evidence),
        )
        return
    needs_trn1(ctx)
    yield from must_train(ctx, TRAIN_MINIMAL_CONFIG, "with local mode's minimal config files")


def _relies_on_hostname(ctx: CheckContext) -> Iterator[Violation]:
    """When the default run fails, the same run with hostname current_host tells whether the image finds its own
    host by its hostname (``socket.gethostname()`` compared with current_host or hosts)."""
    default = ctx.train(TRAIN_DEFAULT)
    if default.start_error or default.hung or (default.exit_code == 0 and default.model_files):
        return  # a run that hung is not run again for a diagnosis: TRN-1 reports it
    if ctx.training().full_form_rejected:
        return  # the minimal form trained with a random hostname: the config form broke it, not the hostname
    named = variant_run(ctx, TRAIN_HOSTNAME_IS_CURRENT_HOST)
    if named.timed_out or named.exit_code != 0 or not named.model_files:
        return
    with_random = run_outcome(default) + ("" if default.model_files else ", no model written")
    yield Violation(
        f"Training works only when the container's hostname is current_host ({contract.CURRENT_HOST}); "
        "on SageMaker it is not",
        expected=f"training that takes its own host from current_host in {contract.RESOURCE_CONFIG_FILE}: "
        f'"{contract.HOSTNAME_UNRELIABLE}" ({contract.DG_TRAIN_DIST})',
        actual=f"with a random hostname: {with_random}; with hostname {contract.CURRENT_HOST}: "
        f"exit code 0 and {len(named.model_files)} model file(s)",
        evidence=(
            (
                "Hint",
                "Code that compares socket.gethostname() (or /etc/hostname) with current_host or hosts, e.g. to "
                "tell the master host, breaks on SageMaker; read current_host from resourceconfig.json (or "
                "SM_CURRENT_HOST in AWS's toolkits). The names in hosts resolve through DNS.",
            ),
            *run_evidence(default, ctx),
        ),
    )


@check("TRN-4", Level.MUST, "A failing run exits non-zero", source=contract.DG_TRAIN_OUT, uses=(TRAIN_EMPTY_CHANNEL,))
def failing_run_exits_non_zero(ctx: CheckContext) -> Iterator[Violation]:
    """A failing run (an empty channel) exits non-zero, so SageMaker marks the job Failed.

    Why: SageMaker marks a job Failed only on a non-zero exit code. An image that catches its error and exits 0
    reports a failed job as Completed, and the pipeline goes on with a model that is missing or wrong.

    How: Trains with an empty training channel, which no algorithm can train on, and requires a non-zero exit code;
    a run still going at the end of its budget (see TRN-1) fails too.
    """
    result = variant_run(ctx, TRAIN_EMPTY_CHANNEL)
    if result.hung:
        yield Violation(
            "Training on an empty channel hung instead of failing",
            expected="a prompt non-zero exit",
            actual=run_outcome(result),
            evidence=run_evidence(result, ctx),
        )
    elif result.exit_code == 0:
        yield Violation(
            "Training on an empty channel exited 0: SageMaker would mark the job Completed",
            expected="a non-zero exit code",
            actual=run_outcome(result)
            + (f", {len(result.model_files)} model file(s) written" if result.model_files else ""),
            evidence=run_evidence(result, ctx),
        )


@check(
    "TRN-5",
    Level.SHOULD,
    f"A failing run writes its cause to {contract.FAILURE_FILE}",
    source=contract.DG_TRAIN_OUT,
    uses=(TRAIN_EMPTY_CHANNEL,),
    needs=("TRN-4",),
)
def failure_file_states_cause(ctx: CheckContext) -> Iterator[Violation]:
    """A failing run writes a non-empty /opt/ml/output/failure whose first 1024 characters state the cause.

    SageMaker shows those 1024 characters as the job's FailureReason.

    Why: DescribeTrainingJob shows the first 1024 characters of /opt/ml/output/failure as the job's FailureReason.
    Without the file the user sees only an algorithm error and an exit code, and a cause written after a long
    traceback is cut off.

    How: Reads /opt/ml/output/failure after TRN-4's failing run (an empty channel): it must exist, be non-empty, and
    its first 1024 characters must hold more than traceback framing. Skipped, naming TRN-4, when that run did not
    fail.
    """
    result = variant_run(ctx, TRAIN_EMPTY_CHANNEL)
    if result.exit_code == 0 or result.hung:
        raise DependencyFailed("TRN-4", "training on an empty channel did not fail")
    text = result.failure
    if text is None or not text.strip():
        yield Violation(
            "The failed run left no cause in the failure file; FailureReason would be a bare exit code",
            expected=f"a non-empty {contract.FAILURE_FILE}",
            actual="missing" if text is None else "empty",
            evidence=run_evidence(result, ctx),
        )
        return
    shown = text[: contract.FAILURE_REASON_LIMIT]
    lines = [line for line in shown.splitlines() if line.strip()]
    framing = ("Traceback (most recent call last)", "File ", "  ", "^")
    if lines and all(line.startswith(framing) for line in lines):
        yield Violation(
            "The cause is not within the first 1024 characters of the failure file (only traceback framing is)",
            expected="the cause first, e.g. 'Channel training holds no CSV files', then any traceback",
            actual=f"first 1024 characters: {shorten(shown, 300)}",
        )


def _baked_credentials(ctx: CheckContext) -> Iterator[Violation]:
    baked = {}
    for item in ctx.image.env:
        name, _, value = item.partition("=")
        if name in contract.AWS_CREDENTIAL_ENV and value.strip():
            baked[name] = len(value)
    if baked:
        yield Violation(
            "The image bakes AWS credentials into its environment: anyone who can pull the image can use them",
            expected=(
                "no AWS credentials in the image's ENV; SageMaker supplies them through the job's execution role "
                "(RoleArn), and an isolated job gets none"
            ),
            actual=", ".join(f"{name} ({length} characters)" for name, length in baked.items()),
            evidence=(
                (
                    "Why",
                    "An image's config travels with every push: a key in ENV is readable with `docker image "
                    "inspect` by anyone who can pull the image, and it outranks the execution role in the AWS "
                    "SDKs' credential chain. Remove the ENV line, rotate the key, and rebuild.",
                ),
            ),
            reproduce=(ctx.commands.show_config("env"),),
        )


@check(
    "TRN-6",
    Level.MUST,
    "Training works with no egress and no AWS credentials",
    source=contract.DG_NETISO,
    uses=(TRAIN_ISOLATED,),
)
def trains_network_isolated(ctx: CheckContext) -> Iterator[Violation]:
    """Training succeeds under network isolation, an internal Docker network with no egress (current_host still
    resolves on it), and with no AWS_* variables; the image bakes no credentials (AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_SECURITY_TOKEN) into its ENV. A baked region (AWS_REGION,
    AWS_DEFAULT_REGION) is harmless and passes.

    Credentials are named with their lengths, never their values. The credential finding stands even when the
    isolated run cannot be judged (TRN-1 failed).

    Why: Under network isolation (required for AWS Marketplace algorithms) a training container can make no outbound
    call, not even to Amazon S3, and gets no AWS credentials. An image that downloads a package or pretrained
    weights at start fails there; a credential baked into an image leaks with every push, and SageMaker gives a job
    its access through the execution role instead.

    How: Trains again on an internal Docker network (no egress; the hosts of resourceconfig.json still resolve) with
    no AWS_* variables, and reads the image's ENV for baked credentials. One run with TRN-2, TRN-6, TRN-8 and
    TRN-9's conditions together stands for each while it trains cleanly; when it does not, this condition runs on
    its own and is judged alone.
    """
    credentials = list(_baked_credentials(ctx))
    try:
        needs_trn1(ctx)
        isolated = list(must_train(ctx, TRAIN_ISOLATED, "under network isolation (no egress)"))
    except CheckSkipped as skipped:
        if not credentials:
            raise
        ctx.note(f"the run under network isolation was not judged: {skipped}")
        isolated = []
    yield from credentials
    yield from isolated


def sigterm_run(policy: Policy) -> TrainSpec:
    """TRN-7's run: the policy's [train] sigterm_hyperparameters (the test-dir's own when none), stopped by SIGTERM."""
    hyperparameters = dict(policy.sigterm_hyperparameters) or None
    return TrainSpec("sigterm", hyperparameters=hyperparameters, sigterm_after=SIGTERM_SETTLE_S)


@check(
    "TRN-7",
    Level.SHOULD,
    "SIGTERM ends training well before SIGKILL",
    source=contract.DG_TRAIN_IMG,
    uses=(sigterm_run,),
)
def sigterm_stops_training(ctx: CheckContext) -> Iterator[Violation]:
    """SIGTERM during training (docker stop -t 120) ends the container well before the SIGKILL; the time is
    reported. PID 1 must take SIGTERM (the harness gives it 5 s to install a handler): a run that ends in time
    only because it was done does not pass.

    StopTrainingJob and MaxRuntimeInSeconds both send SIGTERM and SIGKILL 120 s later. SIGTERM is sent as soon as
    a look at PID 1 (one `docker exec`, repeated every 0.25 s) finds it taking the signal, not after a fixed delay:
    a short run is then still running when it is signalled, so the clause is judged rather than skipped.

    Why: StopTrainingJob, and reaching MaxRuntimeInSeconds, send SIGTERM and then SIGKILL 120 s later; the window is
    there so the algorithm can save its work. A program that never receives SIGTERM (a shell wrapper without `exec`,
    a PID 1 without a handler) is killed and loses it, and every stop takes the full two minutes.

    How: Starts a training run (with the policy's [train] sigterm_hyperparameters, so that it runs long), reads PID
    1's signal masks in /proc/1/status, sends `docker stop -t 120` as soon as PID 1 takes SIGTERM, and times the
    exit: it must come within 60 s, without SIGKILL, and not only because the run was done. The control is read
    inside the container: how long its tasks (per program, the one that waited longest) waited for a CPU from the
    SIGTERM to a second before the SIGKILL (one `docker exec` as SIGTERM goes, one then if the run is still going).
    A SIGKILL still past 60 s less that waiting, or after under a second of it, fails; a slow exit that the waiting
    (or, when it was not read, as for an exit between 60 s and the late look, a load average over the CPUs) can
    explain is timed again on a run of its own with the other checks paused, else not judged.
    """
    well_before = contract.TRAIN_STOP_GRACE_S / 2
    runs = [sigterm_run(ctx.policy), dataclasses.replace(sigterm_run(ctx.policy), name="sigterm-quiet")]

    def stopped() -> StopResult:
        stop = variant_run(ctx, runs.pop(0)).stop  # the second, only when the first was unfair: a run of its own
        assert stop is not None
        return stop

    stop = ctx.timed(
        stopped,
        StopResult.judged_seconds,
        well_before,
        "training's exit after SIGTERM",
        load_of=lambda s: s.load,
        judge=StopResult.fair,
    )
    if stop.already_exited:
        if stop.pid1 is not None and stop.pid1.receives is False and stop.pid1.waits_for_child:
            # Never sent, but a wrapper waiting on its child without a handler could not have passed it on. (A
            # single program is not judged here: its handler may have come and gone between two looks.)
            yield Violation(
                "PID 1 never took SIGTERM while training ran: the kernel would have discarded it",
                expected=RECEIVES_SIGTERM,
                actual=f"{stop.pid1.describe()} at every look until the run ended (exit code {stop.exit_code})",
                evidence=(SIGTERM_HINT,),
            )
            return
        raise CheckSkipped(
            f"training finished (exit code {stop.exit_code}) before SIGTERM could be sent (it is sent as soon as "
            "PID 1 is seen taking it); give [train] sigterm_hyperparameters in conformance.toml that make it run "
            "longer"
        )
    ctx.measure("train_sigterm_seconds", stop.seconds)
    if stop.killed or stop.seconds > well_before:
        yield Violation(
            "Training ignored SIGTERM" + (" and was killed by SIGKILL" if stop.killed else " for too long"),
            expected=f"exit within {well_before:g} s of SIGTERM (SIGKILL follows at {contract.TRAIN_STOP_GRACE_S} s)",
            actual=f"exit code {stop.exit_code} after {stop.seconds:.1f} s",
            evidence=(*stop.pid1_evidence(), *ctx.load_evidence(), SIGTERM_HINT),
        )
    elif stop.pid1 is not None and stop.pid1.receives is False:
        # The run ended in time, but on its own: the kernel discarded the signal, so a longer run would not stop.
        yield Violation(
            "SIGTERM never reached training: PID 1 has no handler for it, so the kernel discards it",
            expected=RECEIVES_SIGTERM,
            actual=f"{stop.pid1.describe()}; the run ended {stop.seconds:.1f} s later because it was done",
            evidence=(SIGTERM_HINT,),
        )
