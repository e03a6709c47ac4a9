"""TRN: `docker run IMAGE train` against a fresh /opt/ml built from the test-dir."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

from conformance import contract
from conformance.context import MINIMAL_FORM_NOTE, CheckContext, Training
from conformance.failures import CheckSkipped, DependencyFailed, Violation, head, shorten
from conformance.opt_ml import (
    TRAIN_DEFAULT,
    TRAIN_DEFAULTS_AND_EXTRA_KEYS,
    TRAIN_EMPTY_CHANNEL,
    TRAIN_EXTRA_CONFIG_FILES,
    TRAIN_HOSTNAME_IS_CURRENT_HOST,
    TRAIN_ISOLATED,
    TRAIN_MINIMAL_CONFIG,
    TRAIN_STRAY_FILES,
    TrainSpec,
    extra_config_files,
)
from conformance.registry import Level, check
from conformance.targets.results import TrainResult

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


def _outcome(result: TrainResult) -> str:
    if result.start_error:
        return f"the container could not start: {result.start_error}"
    if result.serving is not None:
        return f"the run {result.describe()}"
    if result.timed_out:
        return f"still running after {result.seconds:.0f} s (the harness's budget for the run; see TRN-1)"
    return f"exit code {result.exit_code} after {result.seconds:.1f} s"


def _config_files(ctx: CheckContext, result: TrainResult) -> str:
    config = ctx.certification.stage / result.spec / "input" / "config"
    return head("\n".join(f"{p.name}: {p.read_text().strip()}" for p in sorted(config.glob("*.json"))), 40)


def _evidence(result: TrainResult, ctx: CheckContext) -> tuple[tuple[str, str], ...]:
    evidence = [("Config files the harness wrote", _config_files(ctx, result))]
    if result.failure is not None:
        evidence.append((contract.FAILURE_FILE, shorten(result.failure, 1500)))
    return tuple(evidence)


def _run(ctx: CheckContext, spec: TrainSpec, *, sigterm_after: float | None = None) -> TrainResult:
    """A training run for any clause but TRN-1: when the container cannot even start, TRN-1 says why.

    When only local mode's minimal config files train (TRN-3), every variant uses that form too, so that each
    clause judges its own subject rather than the config files again."""
    if spec not in (TRAIN_DEFAULT, TRAIN_MINIMAL_CONFIG) and ctx.training().full_form_rejected:
        spec = dataclasses.replace(spec, name=f"{spec.name}-minimal-config", config_form="minimal")
        ctx.note(MINIMAL_FORM_NOTE)
    result = ctx.train(spec, sigterm_after=sigterm_after)
    if result.start_error and spec is not TRAIN_DEFAULT:
        raise DependencyFailed("TRN-1", f"the training container could not start: {result.start_error}")
    return result


def _needs_trn1(ctx: CheckContext) -> Training:
    """Variants of the default run say nothing new when training on the test-dir failed in both config forms:
    TRN-1 says why."""
    training = ctx.training()
    if not training.trained:
        raise DependencyFailed("TRN-1", "training on the test-dir itself did not produce a model")
    return training


def _must_train(ctx: CheckContext, spec: TrainSpec, what: str) -> Iterator[Violation]:
    """A run that must succeed: exit 0, a non-empty model, no failure file."""
    result = _run(ctx, spec)
    if result.timed_out or result.exit_code != 0:
        yield Violation(
            f"Training {what} failed",
            expected="exit code 0",
            actual=_outcome(result),
            evidence=_evidence(result, ctx),
        )
        return
    if not result.model_files:
        yield Violation(
            f"Training {what} exited 0 but wrote no model",
            expected=f"at least one file in {contract.MODEL_DIR} (SageMaker uploads it as model.tar.gz)",
            actual=f"{contract.MODEL_DIR} is empty",
            evidence=_evidence(result, ctx),
        )
    if result.failure is not None:
        yield Violation(
            f"Training {what} exited 0 but left a failure file",
            expected=f"no {contract.FAILURE_FILE} after a successful run",
            actual=f"{contract.FAILURE_FILE}: {shorten(result.failure, 200)}",
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
    yield from _must_train(ctx, TRAIN_DEFAULT, "on the test-dir")
    ctx.measure("train_seconds", ctx.train(TRAIN_DEFAULT).seconds)


@check(
    "TRN-2", Level.MUST, "Hyperparameters arrive as strings; {} and unknown keys train", source=contract.DG_TRAIN_INFO
)
def hyperparameters_as_sagemaker_sends_them(ctx: CheckContext) -> Iterator[Violation]:
    """Hyperparameter values arrive as JSON strings, exactly as SageMaker writes them; `{}` trains with defaults;
    unknown keys (`_tuning_objective_metric`, `sagemaker_*`) are tolerated.

    Why: SageMaker writes every hyperparameter value as a JSON string ("20", not 20), may send none at all, and adds
    keys of its own (automatic model tuning's `_tuning_objective_metric`, framework estimators' `sagemaker_*`). An
    image that expects numbers or rejects unknown keys fails on the service only.

    How: The default run (TRN-1) sends the test-dir's values as strings; this check trains again with a
    hyperparameters.json holding only the keys tuning and framework estimators add, so every hyperparameter takes
    its default and the unknown keys must be ignored.
    """
    _needs_trn1(ctx)
    keys = ", ".join(sorted(contract.TUNING_HYPERPARAMETERS))
    what = f"with defaults and only the keys tuning and framework estimators add ({keys})"
    yield from _must_train(ctx, TRAIN_DEFAULTS_AND_EXTRA_KEYS, what)


@check("TRN-3", Level.MUST, "inputdataconfig.json and resourceconfig.json are tolerated", source=contract.DG_TRAIN_INFO)
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
        evidence = [("Full form the harness wrote (rejected)", _config_files(ctx, full))]
        if full.failure is not None:
            evidence.append((f"{contract.FAILURE_FILE} of the full-form run", shorten(full.failure, 1500)))
        evidence.append(("Minimal form the harness wrote (trained)", _config_files(ctx, minimal)))
        yield Violation(
            "Training with the full documented config files failed, while local mode's minimal form trained",
            expected="exit code 0 with the config files SageMaker writes for a training job (extra keys included)",
            actual=f"full form: {_outcome(full)}; minimal form: exit code 0 and a model",
            evidence=tuple(evidence),
        )
        return
    _needs_trn1(ctx)
    yield from _must_train(ctx, TRAIN_MINIMAL_CONFIG, "with local mode's minimal config files")


def _relies_on_hostname(ctx: CheckContext) -> Iterator[Violation]:
    """When the default run fails, the same run with hostname current_host tells whether the image finds its own
    host by its hostname (``socket.gethostname()`` compared with current_host or hosts)."""
    default = ctx.train(TRAIN_DEFAULT)
    if default.start_error or default.hung or (default.exit_code == 0 and default.model_files):
        return  # a run that hung is not run again for a diagnosis: TRN-1 reports it
    if ctx.training().full_form_rejected:
        return  # the minimal form trained with a random hostname: the config form broke it, not the hostname
    named = _run(ctx, TRAIN_HOSTNAME_IS_CURRENT_HOST)
    if named.timed_out or named.exit_code != 0 or not named.model_files:
        return
    with_random = _outcome(default) + ("" if default.model_files else ", no model written")
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
            *_evidence(default, ctx),
        ),
    )


@check("TRN-4", Level.MUST, "A failing run exits non-zero", source=contract.DG_TRAIN_OUT)
def failing_run_exits_non_zero(ctx: CheckContext) -> Iterator[Violation]:
    """A failing run (an empty channel) exits non-zero, so SageMaker marks the job Failed.

    Why: SageMaker marks a job Failed only on a non-zero exit code. An image that catches its error and exits 0
    reports a failed job as Completed, and the pipeline goes on with a model that is missing or wrong.

    How: Trains with an empty training channel, which no algorithm can train on, and requires a non-zero exit code;
    a run still going at the end of its budget (see TRN-1) fails too.
    """
    result = _run(ctx, TRAIN_EMPTY_CHANNEL)
    if result.hung:
        yield Violation(
            "Training on an empty channel hung instead of failing",
            expected="a prompt non-zero exit",
            actual=_outcome(result),
            evidence=_evidence(result, ctx),
        )
    elif result.exit_code == 0:
        yield Violation(
            "Training on an empty channel exited 0: SageMaker would mark the job Completed",
            expected="a non-zero exit code",
            actual=_outcome(result)
            + (f", {len(result.model_files)} model file(s) written" if result.model_files else ""),
            evidence=_evidence(result, ctx),
        )


@check(
    "TRN-5", Level.SHOULD, f"A failing run writes its cause to {contract.FAILURE_FILE}", source=contract.DG_TRAIN_OUT
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
    result = _run(ctx, TRAIN_EMPTY_CHANNEL)
    if result.exit_code == 0 or result.hung:
        raise DependencyFailed("TRN-4", "training on an empty channel did not fail")
    text = result.failure
    if text is None or not text.strip():
        yield Violation(
            "The failed run left no cause in the failure file; FailureReason would be a bare exit code",
            expected=f"a non-empty {contract.FAILURE_FILE}",
            actual="missing" if text is None else "empty",
            evidence=_evidence(result, ctx),
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
            reproduce=(f"docker image inspect --format '{{{{json .Config.Env}}}}' {ctx.image.reference}",),
        )


@check("TRN-6", Level.MUST, "Training works with no egress and no AWS credentials", source=contract.DG_NETISO)
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
    no AWS_* variables, and reads the image's ENV for baked credentials.
    """
    credentials = list(_baked_credentials(ctx))
    try:
        _needs_trn1(ctx)
        isolated = list(_must_train(ctx, TRAIN_ISOLATED, "under network isolation (no egress)"))
    except CheckSkipped as skipped:
        if not credentials:
            raise
        ctx.note(f"the run under network isolation was not judged: {skipped}")
        isolated = []
    yield from credentials
    yield from isolated


@check("TRN-7", Level.SHOULD, "SIGTERM ends training well before SIGKILL", source=contract.DG_TRAIN_IMG)
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
    exit: it must come within 60 s, without SIGKILL, and not only because the run was done.
    """
    hyperparameters = dict(ctx.policy.sigterm_hyperparameters) or None
    spec = TrainSpec("sigterm", hyperparameters=hyperparameters)
    result = _run(ctx, spec, sigterm_after=SIGTERM_SETTLE_S)
    stop = result.stop
    assert stop is not None
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
    well_before = contract.TRAIN_STOP_GRACE_S / 2
    if stop.killed or stop.seconds > well_before:
        yield Violation(
            "Training ignored SIGTERM" + (" and was killed by SIGKILL" if stop.killed else " for too long"),
            expected=f"exit within {well_before:g} s of SIGTERM (SIGKILL follows at {contract.TRAIN_STOP_GRACE_S} s)",
            actual=f"exit code {stop.exit_code} after {stop.seconds:.1f} s",
            evidence=(*stop.pid1_evidence(), SIGTERM_HINT),
        )
    elif stop.pid1 is not None and stop.pid1.receives is False:
        # The run ended in time, but on its own: the kernel discarded the signal, so a longer run would not stop.
        yield Violation(
            "SIGTERM never reached training: PID 1 has no handler for it, so the kernel discards it",
            expected=RECEIVES_SIGTERM,
            actual=f"{stop.pid1.describe()}; the run ended {stop.seconds:.1f} s later because it was done",
            evidence=(SIGTERM_HINT,),
        )


@check(
    "TRN-8", Level.SHOULD, "Stray files and nested folders in a channel are tolerated", source=contract.DG_TRAIN_INFO
)
def stray_files_tolerated(ctx: CheckContext) -> Iterator[Violation]:
    """Stray files (_SUCCESS, README.txt) and nested folders in a channel are tolerated, or fail cleanly under
    TRN-4/5 (non-zero exit and a failure file).

    Why: A channel is an S3 prefix copied as it is, key structure included: it can hold Spark's _SUCCESS markers,
    README files and nested folders. An image that reads every file as data crashes obscurely, or trains on the
    wrong rows.

    How: Adds _SUCCESS, README.txt and a nested folder holding copies of the data to the training channel and
    trains: the run must succeed with a model, or fail cleanly (a non-zero exit and a non-empty failure file).
    """
    _needs_trn1(ctx)
    result = _run(ctx, TRAIN_STRAY_FILES)
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
            actual=_outcome(result) + (", no failure file" if not (result.failure or "").strip() else ""),
            evidence=(
                ("Channel layout", "_SUCCESS, README.txt and nested/deeper/<copies of the data> were added"),
                *_evidence(result, ctx),
            ),
        )


@check(
    "TRN-9",
    Level.MUST,
    "Extra config files SageMaker writes (checkpoints, debugger, job config, unknown) are tolerated",
    source=contract.API_CREATE_TRAINING,
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
    """
    _needs_trn1(ctx)
    names = ", ".join(sorted(extra_config_files()))
    yield from _must_train(ctx, TRAIN_EXTRA_CONFIG_FILES, f"with extra files in {contract.INPUT_CONFIG_DIR} ({names})")


PEER_WAIT_S = 60.0
"""How much longer than the single-host run TRN-10 lets a lone second host run before calling it a hang. A host
may wait for the other hosts for a while; SageMaker starts every host of a job together, so a wait that outlasts this
one is a wait that never ends when a peer is gone."""


@check(
    "TRN-10",
    Level.MUST,
    "A second host whose peer does not answer trains or fails cleanly, never hangs",
    source=contract.DG_TRAIN_DIST,
)
def lone_second_host_ends(ctx: CheckContext) -> Iterator[Violation]:
    """With a resourceconfig.json of two hosts in which current_host is algo-2, and no algo-1 program running,
    training ends within a bounded time: it trains (exit 0), or fails cleanly under TRN-4/5 (a non-zero exit and
    a non-empty failure file). It never hangs.

    Why: On a job with InstanceCount above 1, SageMaker runs the same image on every host, each with its own
    current_host, and hosts can start seconds apart or die. An image that waits for algo-1 forever (or for a
    quorum that never comes) bills the job until MaxRuntimeInSeconds and never says why; a single-host image must
    at least fail fast with a cause when it is given two hosts.

    How: Trains with resourceconfig.json listing algo-1 and algo-2, current_host algo-2, on a network where both
    names resolve, as they do on SageMaker once the hosts are up, to the one container there is: no algo-1 program
    runs. (Names that never resolve would test the boot-time DNS wait that AWS documents and its training toolkit
    implements, up to 15 minutes, rather than a missing peer.) The run must end within the default run's
    time plus 60 s (bounded by --train-timeout): exit 0, or a non-zero exit with a non-empty failure file. A run
    still going at the bound is killed and fails with its logs.
    """
    training = _needs_trn1(ctx)
    bound = min(ctx.options.train_timeout, training.run.seconds + PEER_WAIT_S)
    hosts = contract.MULTI_HOST_NAMES
    spec = TrainSpec("second-host-alone", current_host=hosts[1], hosts=hosts, timeout=bound)
    result = _run(ctx, spec)
    where = (
        "Hosts",
        f"resourceconfig.json: hosts {list(hosts)}, current_host {hosts[1]}; both names resolve to the one "
        f"container, so no {hosts[0]} program answers",
    )
    if result.timed_out:
        yield Violation(
            f"Training as {hosts[1]} of two hosts hung while {hosts[0]} did not answer",
            expected=f"exit within {bound:.0f} s (the single-host run took {training.run.seconds:.1f} s): "
            "trained, or a non-zero exit with a failure file",
            actual=f"still running after {result.seconds:.0f} s; killed",
            evidence=(
                where,
                (
                    "Hint",
                    "Wait for the other hosts with a deadline, then fail with a cause in the failure file; an image "
                    "that supports one host only can say so when resourceconfig.json lists more.",
                ),
                *_evidence(result, ctx),
            ),
        )
        return
    ctx.measure("train_second_host_seconds", result.seconds)
    if result.exit_code != 0 and not (result.failure or "").strip():
        yield Violation(
            f"Training as {hosts[1]} of two hosts failed without a cause",
            expected="exit 0, or a non-zero exit with a non-empty failure file (TRN-4/5)",
            actual=_outcome(result) + (", no failure file" if result.failure is None else ", empty failure file"),
            evidence=(where, *_evidence(result, ctx)),
        )


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
    training = _needs_trn1(ctx)
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


SECOND_HOST_DELAY_S = 5.0
"""How long after algo-1 TRN-12 starts algo-2: hosts of one job come up seconds apart."""


@check(
    "TRN-12",
    Level.CONDITIONAL,
    "Two hosts train one job, and their model directories merge without clashing names (multi-host images)",
    source=contract.DG_TRAIN_DIST,
)
def two_hosts_train(ctx: CheckContext) -> Iterator[Violation]:
    """If the policy declares that the image trains with more than one instance (`[train] multi_host = true`), a
    job on two hosts, algo-1 and algo-2 with the second started some seconds late, exits 0 on both, and the two
    /opt/ml/model directories merge without a file name written on both hosts.

    SageMaker uploads /opt/ml/model from every host into one model.tar.gz: where two hosts write the same file
    name, one overwrites the other, as the SageMaker Python SDK's local mode reproduces (`retrieve_artifacts` in
    https://github.com/aws/sagemaker-python-sdk/blob/master/src/sagemaker/local/image.py).

    Why: With InstanceCount above 1, SageMaker runs the image on every host, each with its own /opt/ml and its own
    current_host in resourceconfig.json, and starts them together but not at the same instant. An image that claims
    distributed training must wait for the other hosts, finish on each one, and keep the model apart: the merged
    model.tar.gz holds one copy of each name, from whichever host was uploaded last.

    How: Skipped unless the policy declares multi_host. Runs two containers of the image on one network, each
    answering as its own host (algo-1, algo-2) with its own /opt/ml and resourceconfig.json (hosts
    [algo-1, algo-2], current_host its own), algo-2 started 5 s after algo-1, both bounded by --train-timeout.
    Each must exit 0; the model files of both are then compared by relative path: at least one file in all, and
    none present on both hosts.
    """
    if not ctx.policy.multi_host:
        raise CheckSkipped("the policy does not declare multi-host training ([train] multi_host = true)")
    _needs_trn1(ctx)
    hosts = contract.MULTI_HOST_NAMES
    spec = TrainSpec("two-hosts", hosts=hosts)
    if ctx.training().full_form_rejected:
        spec = dataclasses.replace(spec, name="two-hosts-minimal-config", config_form="minimal")
        ctx.note(MINIMAL_FORM_NOTE)
    results = ctx.train_cluster(spec, delay=SECOND_HOST_DELAY_S)
    ctx.measure("train_two_hosts_seconds", max(r.seconds for r in results))
    trained = True
    for host, result in zip(hosts, results, strict=True):
        if result.start_error or result.timed_out or result.exit_code != 0:
            trained = False
            yield Violation(
                f"Training as {host} of two hosts failed",
                expected=f"exit code 0 on every host ({hosts[1]} started {SECOND_HOST_DELAY_S:g} s after {hosts[0]})",
                actual=_outcome(result),
                evidence=_evidence(result, ctx),
            )
    if not trained:
        return
    models = [set(result.model_files) for result in results]
    if not set().union(*models):
        yield Violation(
            "Training on two hosts exited 0 but no host wrote a model",
            expected=f"model files in {contract.MODEL_DIR} of at least one host",
            actual="every host's model directory is empty",
        )
        return
    clashes = sorted(models[0] & models[1])
    if clashes:
        same = [
            n for n in clashes if (results[0].model_dir / n).read_bytes() == (results[1].model_dir / n).read_bytes()
        ]
        listing = "\n".join(
            f"{host}: " + (", ".join(sorted(result.model_files)) or "(empty)")
            for host, result in zip(hosts, results, strict=True)
        )
        yield Violation(
            f"Both hosts wrote {', '.join(clashes[:5])} in {contract.MODEL_DIR}: one overwrites the other in "
            "model.tar.gz",
            expected="model files written by one host only (e.g. current_host == hosts[0]), or named per host",
            actual=f"{len(clashes)} name(s) on both hosts ({len(same)} with identical content, "
            f"{len(clashes) - len(same)} differing)",
            evidence=(("Model files per host", listing),),
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
    _needs_trn1(ctx)
    hyperparameters = dict(ctx.policy.sigterm_hyperparameters) or None
    first = _run(
        ctx,
        TrainSpec("checkpoint-stopped", hyperparameters=hyperparameters, extra_config=True, stop_at_checkpoint=True),
    )
    if not first.checkpoint_files:
        yield Violation(
            f"Training wrote nothing to {contract.CHECKPOINTS_DIR}, though the policy declares it resumes from there",
            expected=f"a checkpoint file in {contract.CHECKPOINTS_DIR} before the run ends",
            actual=_outcome(first) + f"; {contract.CHECKPOINTS_DIR} empty",
            evidence=_evidence(first, ctx),
        )
        return
    if first.stop is None:
        raise CheckSkipped(
            f"training finished ({_outcome(first)}) before the harness saw its checkpoint, so it could not be stopped "
            "midway; give [train] sigterm_hyperparameters in conformance.toml that make it run longer"
        )
    saved = first.model_dir.parent / "checkpoints"
    second = _run(
        ctx, TrainSpec("checkpoint-resumed", hyperparameters=hyperparameters, extra_config=True, checkpoints=saved)
    )
    listing = ", ".join(sorted(first.checkpoint_files)[:10])
    stopped = (
        "First run",
        f"stopped by SIGTERM once it wrote a checkpoint ({_outcome(first)}), leaving in {contract.CHECKPOINTS_DIR}: "
        f"{listing}",
    )
    if second.timed_out or second.exit_code != 0 or not second.model_files:
        yield Violation(
            "Training on the checkpoints of a stopped run did not finish",
            expected="exit code 0 and a model",
            actual=_outcome(second) + ("" if second.model_files else ", no model"),
            evidence=(stopped, *_evidence(second, ctx)),
        )
        return
    if not any(re.search(pattern, line) for line in second.logs.splitlines()):
        yield Violation(
            "Training on the checkpoints of a stopped run did not resume: it started over",
            expected=f"a log line matching resume_log {pattern!r}",
            actual=f"no such line in {len(second.logs.splitlines())} log lines; the run took {second.seconds:.1f} s "
            f"(the stopped one {first.seconds:.1f} s)",
            evidence=(stopped, *_evidence(second, ctx)),
        )
