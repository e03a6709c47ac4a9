"""Running one clause against one image: the verdict, whatever the check did."""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field

from conformance.context import CheckContext
from conformance.failures import CheckSkipped, ConformanceFailure, DependencyFailed, HarnessError, NotJudged, Violation
from conformance.limits import LimitExceeded
from conformance.registry import Clause, Level
from conformance.sharing import Certification

PASS, FAIL, WARN, SKIP, ERROR = "pass", "fail", "warn", "skip", "error"


@dataclass
class Outcome:
    clause: Clause
    verdict: str
    reason: str = ""
    failure: ConformanceFailure | None = None
    measurements: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    depends_on: str | None = None
    """For a skip because a needed clause failed (DependencyFailed): that clause's ID."""
    not_judged: bool = False
    """A skip because the host was too busy to measure fairly (NotJudged): no verdict, and no certification."""


def run_clause(certification: Certification, clause: Clause) -> Outcome:
    """Run ``clause``'s check; a crash inside a check is the harness's error, never the image's failure. A check that
    fails on a server shared with other clauses' configurations (:attr:`.targets.ServeSpec.shareable`) is judged
    again on servers of its own, so that a failure is its own configuration's, found as if it ran alone."""
    ctx = CheckContext(certification, clause.id, certification.replica_spec(clause))
    outcome = _run(ctx, clause)
    if not ctx.shared or ctx.found_unshared or outcome.verdict not in (FAIL, WARN, ERROR):
        return outcome  # a finding made before the shared server was asked for is not the share's
    certification.limits.forget(clause.id)
    alone = CheckContext(certification, clause.id, certification.replica_spec(clause), shares=False)
    again = _run(alone, clause)
    servers = ", ".join(f"'{name}'" for name in dict.fromkeys(ctx.shared.values()))
    again.notes.insert(
        0,
        f"On the shared server {servers} this clause came out {outcome.verdict} ({outcome.reason}): judged again on "
        "servers of its own, with this verdict",
    )
    return again


def _run(ctx: CheckContext, clause: Clause) -> Outcome:
    certification = ctx.certification
    certification.pause_point(clause.id)  # a check measuring in quiet (Certification.quiet) finishes first
    violations: list[Violation] = []
    try:
        # One by one, so that a check stopped by a broken limit keeps what it found before.
        for violation in clause.function(ctx) or ():
            violations.append(violation)
            if not ctx.shared:
                ctx.found_unshared += 1
    except LimitExceeded:
        pass  # the breach itself is added below
    except CheckSkipped as skipped:
        if not ctx.limit_violations():  # a limit this check broke is its failure, whatever stopped it after
            depends_on = skipped.clause_id if isinstance(skipped, DependencyFailed) else None
            return Outcome(
                clause,
                SKIP,
                str(skipped),
                measurements=ctx.measurements,
                notes=ctx.notes,
                depends_on=depends_on,
                not_judged=isinstance(skipped, NotJudged),
            )
    except HarnessError:
        raise
    except Exception as error:
        crash = Violation(
            f"The check for {clause.id} raised an unexpected error (a harness bug, not a verdict on the image)",
            expected="the check to finish",
            actual=f"{type(error).__name__}: {error}",
            evidence=(("Traceback", traceback.format_exc()),),
        )
        failure = ConformanceFailure(
            clause.id, clause.level.value, clause.title, [crash], ctx.sections(), ctx.reproduce(), clause.source
        )
        return Outcome(clause, ERROR, str(error), failure, ctx.measurements, ctx.notes)
    # A request that broke one of SageMaker's limits fails the check that sent it (conformance.limits).
    violations += [v for v in ctx.limit_violations() if v not in violations]
    if not violations:
        return Outcome(clause, PASS, measurements=ctx.measurements, notes=ctx.notes)
    failure = ConformanceFailure(
        clause.id, clause.level.value, clause.title, violations, ctx.sections(), ctx.reproduce(), clause.source
    )
    waiver = certification.policy.waive.get(clause.id)
    if clause.level is Level.INFO or (clause.level is Level.SHOULD and waiver):
        reason = f"downgraded to a warning by the policy: {waiver}" if waiver else "informational"
        return Outcome(clause, WARN, reason, failure, ctx.measurements, ctx.notes)
    return Outcome(clause, FAIL, failure.headline, failure, ctx.measurements, ctx.notes)
