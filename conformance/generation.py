"""Generated payloads: hypothesis drives a check's rule over many payloads within a budget, and shrinks a failure.

SRV-4, SRV-7 and SRV-8 use it (``--max-examples``, ``--property-budget``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator

from hypothesis import HealthCheck, Phase, given, reject, settings
from hypothesis.errors import HypothesisException
from hypothesis.strategies import SearchStrategy

from conformance import codecs
from conformance.context import CheckContext
from conformance.failures import Violation


def generated(
    ctx: CheckContext, strategy: SearchStrategy[codecs.Generated], test: Callable[[codecs.Generated], None]
) -> None:
    """Run ``test`` on up to --max-examples generated payloads within --property-budget seconds; hypothesis shrinks a
    failure to its smallest. How many ran is measured (``<clause>_generated_examples``).

    Past the budget no request is sent: before a failure, every further example is rejected, so generation ends;
    after one, every further example fails as that one did, so shrinking ends at once and the failure found is the
    one reported."""
    if ctx.options.max_examples <= 0:
        return
    budget = ctx.options.property_budget
    started = ctx.clock.now()
    ran = 0
    failure: list[BaseException] = []

    @functools.wraps(test)  # hypothesis derandomizes from the test's source: keep the examples the test gives
    def bounded(example: codecs.Generated) -> None:
        nonlocal ran
        if ran and ctx.clock.now() - started >= budget:
            if failure:
                raise failure[-1]
            reject()
        ran += 1
        try:
            test(example)
        except Exception as error:
            failure.append(error)
            raise

    try:
        _run_generated(ctx, strategy, bounded)
    finally:
        ctx.measure(f"{ctx.clause_id.lower().replace('-', '')}_generated_examples", ran)
        if ctx.clock.now() - started >= budget and ran < ctx.options.max_examples:
            ctx.note(
                f"{ran} of {ctx.options.max_examples} generated payloads were sent: the property budget of "
                f"{budget:g} s ran out (--property-budget)"
            )


def _run_generated(
    ctx: CheckContext, strategy: SearchStrategy[codecs.Generated], test: Callable[[codecs.Generated], None]
) -> None:
    runner = settings(
        max_examples=ctx.options.max_examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=(Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )(given(strategy)(test))
    runner()


class _Found(AssertionError):
    """A generated payload broke the rule; carries the violation hypothesis shrank to."""

    def __init__(self, violation: Violation) -> None:
        super().__init__(violation.summary)
        self.violation = violation


def generated_violations(
    ctx: CheckContext,
    strategy: SearchStrategy[codecs.Generated],
    judge: Callable[[codecs.Generated], list[Violation]],
) -> Iterator[Violation]:
    last: list[Violation] = []

    def test(example: codecs.Generated) -> None:
        found = judge(example)
        if found:
            last[:] = found
            raise _Found(found[0])

    try:
        generated(ctx, strategy, test)
    except _Found:
        # Hypothesis re-raises the smallest failing example last, so `last` holds its violations.
        yield from last
    except HypothesisException as error:
        ctx.note(f"payload generation stopped: {error}")
