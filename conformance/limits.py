"""SageMaker's per-request limits, observed once per certification and never waited out twice.

An invocation that takes longer than :data:`~conformance.contract.INVOCATION_LIMIT_S` has broken the contract
whatever came of it, and so has a ``/ping`` on an idle server that takes :data:`~conformance.contract.PING_TIMEOUT_S`
or more (SRV-2 judges that one). The first time a check sees either, :class:`Limits` keeps it as a :class:`Breach`:
that check fails with the exchange as evidence, and every later request of the same kind is not sent. A later
check that would send one is skipped naming the clause that saw the breach (as a check that needs a model skips
naming TRN-1); the check that saw it stops at once and fails. An image whose every invocation hangs then costs one
invocation limit, not one per request.

A request is never allowed to run past the limit: an invocation that has not answered after 60 s has exceeded it,
and waiting longer tells nothing more (:data:`INVOCATION_TIMEOUT_S`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Final

from conformance import contract
from conformance.failures import DependencyFailed, Violation
from conformance.http import Exchange

INVOCATION: Final = "invocation"
PING: Final = "ping"

INVOCATION_TIMEOUT_S: Final = contract.INVOCATION_LIMIT_S
"""How long the harness waits for an invocation: SageMaker's limit itself. An answer after it is a breach anyway."""


@dataclass(frozen=True)
class Breach:
    """The first request that broke a limit, and the clause whose check sent it."""

    kind: str
    clause: str
    violation: Violation

    def reason(self) -> str:
        return f"{self.violation.summary} ({self.violation.actual}); the harness does not wait it out again"


class LimitExceeded(Exception):
    """Raised inside the check that saw a breach when it sends another request of that kind: the check ends there,
    and fails with the breach (the runner adds it)."""

    def __init__(self, breach: Breach) -> None:
        super().__init__(breach.violation.summary)
        self.breach = breach


class Limits:
    """The breaches of one certification. Each request is counted for the clause whose check sent it (the check's
    view of its servers, :meth:`conformance.context.CheckContext.server`, passes it), since checks run side by side
    (conformance.graph) and one check may send from several threads (SRV-13, SRV-16)."""

    def __init__(self) -> None:
        self.breaches: dict[str, Breach] = {}
        self._lock = threading.Lock()

    def before(self, clause: str, method: str, path: str) -> None:
        """Called before ``clause``'s check sends a request: refuse an invocation once one has broken the limit."""
        if method == "POST" and path == contract.INVOCATIONS_PATH:
            self.refuse(clause, INVOCATION)

    def refuse(self, clause: str, kind: str) -> None:
        """Stop here if ``kind`` was breached: skip naming the clause that saw it, or end the check that did."""
        breach = self.breaches.get(kind)
        if breach is None:
            return
        if breach.clause == clause:
            raise LimitExceeded(breach)
        raise DependencyFailed(breach.clause, breach.reason())

    def after(self, clause: str, exchange: Exchange) -> None:
        """Called with every answer (or time-out) to ``clause``'s check: keep the first invocation that took the
        limit or longer. When another check's invocation broke it first, while this one's was in flight (the checks
        run side by side), this check skips naming that clause, as it would have had it sent its request later."""
        if exchange.method != "POST" or not exchange.url.endswith(contract.INVOCATIONS_PATH):
            return
        if exchange.elapsed < contract.INVOCATION_LIMIT_S:
            return
        outcome = "no answer" if exchange.status is None else f"{exchange.describe()}"
        breach = self.record(
            clause,
            INVOCATION,
            Violation(
                f"An invocation took longer than SageMaker's {contract.INVOCATION_LIMIT_S:g} s limit",
                expected=f"an answer within {contract.INVOCATION_LIMIT_S:g} s",
                actual=f"{outcome} after {exchange.elapsed:.1f} s",
                evidence=exchange.evidence(),
                reproduce=(exchange.curl(contract.PORT),),
            ),
        )
        if breach.clause != clause:
            raise DependencyFailed(breach.clause, breach.reason())

    def record(self, clause: str, kind: str, violation: Violation) -> Breach:
        """Keep a breach seen by ``clause``'s check; the first of each kind counts (and is returned)."""
        with self._lock:
            return self.breaches.setdefault(kind, Breach(kind, clause, violation))

    def forget(self, clause: str) -> None:
        """Drop the breaches ``clause``'s check saw: it is judged again, alone (a share's finding is not its own)."""
        with self._lock:
            self.breaches = {kind: b for kind, b in self.breaches.items() if b.clause != clause}

    def seen_by(self, clause: str) -> list[Violation]:
        """The breaches the check of ``clause`` saw: its failure carries them."""
        return [b.violation for b in list(self.breaches.values()) if b.clause == clause]


__all__ = ["INVOCATION", "INVOCATION_TIMEOUT_S", "PING", "Breach", "LimitExceeded", "Limits"]
