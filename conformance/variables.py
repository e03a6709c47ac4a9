"""The model server's worker and timeout variables as ENV-1..3 judge them, and its workers once they settle.

What the environment check modules share: a check module never imports another, so it lives here.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance import contract, procs
from conformance.clock import Clock
from conformance.context import CheckContext, ServeSpec, wait_for
from conformance.targets import Server
from conformance.testdir import POLICY_FILE, Policy

SETTLE_TIMEOUT_S = 20.0
"""How long workers may take to settle (boot, or respawn) after /ping first answers 200."""


@dataclass(frozen=True)
class Variables:
    """The variables ENV-1..3 judge, and why these."""

    workers: str
    timeout: str
    reason: str


def judged_variables(ctx: CheckContext) -> Variables:
    """The worker and timeout variables to judge: the policy's, else those of a stack recognised in the
    default server's process table, else AWS's samples' ``MODEL_SERVER_WORKERS`` / ``MODEL_SERVER_TIMEOUT``.

    A variable the policy names (or declares absent with "") always wins. Read once per certification, from the
    default server as first started, so that ENV-1, ENV-2 and ENV-3 judge the same variables whichever asks first.
    """
    return ctx.certification.shared("variables", lambda: _judged_variables(ctx))


def _judged_variables(ctx: CheckContext) -> Variables:
    policy = ctx.policy
    workers, timeout = policy.workers_env, policy.timeout_env
    if workers is not None and timeout is not None:
        return Variables(workers, timeout, f"named by the policy ([env] in {POLICY_FILE})")
    stack = procs.recognise_stack(ctx.default_server().processes())
    if stack is not None:
        origin = f"recognised {stack.name} ({stack.evidence[:160]}): {stack.reason}"
        default_workers, default_timeout = stack.workers_env, stack.timeout_env
    else:
        origin = (
            "no policy names them and no known stack (SageMaker Inference Toolkit, MLflow) is in the process "
            "table: the names of AWS's bring-your-own-container samples"
        )
        default_workers, default_timeout = contract.MODEL_SERVER_WORKERS_ENV, contract.MODEL_SERVER_TIMEOUT_ENV
    named = [f"{v!r} named by the policy" for v in (workers, timeout) if v is not None]
    reason = origin + (f"; {', '.join(named)}" if named else "")
    return Variables(
        default_workers if workers is None else workers, default_timeout if timeout is None else timeout, reason
    )


def note_judged(ctx: CheckContext, kind: str, variable: str, variables: Variables) -> None:
    ctx.note(f"Judged {kind} variable: {variable or '(none)'} ({variables.reason})")


def env_spec(variables: Variables) -> ServeSpec:
    """The container ENV-1 and ENV-3 read configuration in: both variables set to telling values. It shares no
    server (:attr:`ServeSpec.shareable`): batch transform's variables may change the very settings ENV-1 and ENV-3
    judge (workers, timeouts), and a share must hide no defect."""
    env = {}
    if variables.workers:
        env[variables.workers] = str(contract.ENV_WORKERS_PROBE)
    if variables.timeout:
        env[variables.timeout] = str(contract.ENV_TIMEOUT_PROBE_S)
    return ServeSpec("env", env=env)


def frozen_spec(variable: str) -> ServeSpec:
    """The container ENV-3 freezes the workers of: the timeout variable at T = 10 s."""
    return ServeSpec("env-timeout", env={variable: str(contract.ENV_TIMEOUT_BEHAVIOUR_PROBE_S)})


def planned_frozen_spec(policy: Policy) -> ServeSpec | None:
    """ENV-3's frozen-request container when the policy names the timeout variable (then it is known before any
    server runs, and the container can start ahead: the longest wait of a certification); None otherwise (the
    variable is read from the default server's process table, and the check starts the container itself)."""
    return frozen_spec(policy.timeout_env) if policy.timeout_env else None


def process_table_evidence(table: list[procs.Process]) -> tuple[tuple[str, str], ...]:
    return (("Process table", procs.render_table(table)),)


def settled_workers(clock: Clock, server: Server) -> tuple[procs.WorkerCount, list[procs.Process]]:
    """The worker count once three readings in a row agree (workers boot, or respawn, after /ping)."""
    readings: list[int] = []
    latest: list[tuple[procs.WorkerCount, list[procs.Process]]] = []

    def stable() -> bool:
        table = server.processes()
        count = procs.count_workers(table)
        latest[:] = [(count, table)]
        readings.append(count.count)
        return len(readings) >= 3 and len(set(readings[-3:])) == 1

    wait_for(clock, stable, SETTLE_TIMEOUT_S, interval=0.5)
    return latest[0]
