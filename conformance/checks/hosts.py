"""TRN: a training job on more than one host: every host trains, and a host whose peer is gone never hangs."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from conformance import contract
from conformance.context import MINIMAL_FORM_NOTE, CheckContext
from conformance.failures import CheckSkipped, Violation
from conformance.opt_ml import (
    TrainSpec,
)
from conformance.registry import Level, check
from conformance.training_runs import needs_trn1, run_evidence, run_outcome, variant_run

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
    training = needs_trn1(ctx)
    bound = min(ctx.options.train_timeout, training.run.seconds + PEER_WAIT_S)
    hosts = contract.MULTI_HOST_NAMES
    spec = TrainSpec("second-host-alone", current_host=hosts[1], hosts=hosts, timeout=bound)
    result = variant_run(ctx, spec)
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
                *run_evidence(result, ctx),
            ),
        )
        return
    ctx.measure("train_second_host_seconds", result.seconds)
    if result.exit_code != 0 and not (result.failure or "").strip():
        yield Violation(
            f"Training as {hosts[1]} of two hosts failed without a cause",
            expected="exit 0, or a non-zero exit with a non-empty failure file (TRN-4/5)",
            actual=run_outcome(result) + (", no failure file" if result.failure is None else ", empty failure file"),
            evidence=(where, *run_evidence(result, ctx)),
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
    needs_trn1(ctx)
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
                actual=run_outcome(result),
                evidence=run_evidence(result, ctx),
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
