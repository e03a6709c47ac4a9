"""The checks of one image in lanes side by side: training; the serving checks that share the default server; and
each serving or environment check that runs on containers of its own.

pytest runs one test per clause, in the specification's order; if each test ran its check, every check would wait
for all the checks before it, though most share nothing but the model. So the first test of an image starts the
lanes: one thread runs the selected TRN clauses in order; one the SRV and ENV clauses that share the default server,
in order (so everything they rely on holds as when the checks ran one after another: the server an earlier check
broke is replaced, and one check loads it at a time); and one thread per check that judges on servers of its own
(:attr:`~conformance.registry.Clause.apart`: SIGTERM, the empty model, network isolation, batch, the variables, the
profiles), which only reads the default server as first started. Each test then waits for its own clause's outcome
and reports it (IMG clauses read the image and run in the test itself).

The lanes meet in :class:`~conformance.sharing.Certification`, which starts each container once whichever lane asks
first, and in its :class:`~conformance.limits.Limits`, which count each request for the check that sent it. A check
apart starts once the outcomes of :data:`LEAD` are in, so that what they find (a server that never became healthy,
a ping or an invocation over SageMaker's limit) makes it skip naming them, as it did the checks after them.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Iterable

from conformance.registry import LEAD, Clause, Phase
from conformance.runner import Outcome, run_clause
from conformance.sharing import Certification

TRAINING, SERVING, SECOND = "training", "serving", "serving-2"


def lane_of(clause: Clause, second: bool) -> str | None:
    """The lane ``clause`` runs in: training; serving (the default server's checks); serving-2 (the checks on its
    second, :attr:`~conformance.registry.Clause.replica`); its own (a check apart); or none for an IMG clause (it
    runs in its own test)."""
    if clause.phase is Phase.TRAINING:
        return TRAINING
    if clause.phase in (Phase.SERVING, Phase.ENVIRONMENT):
        if clause.apart:
            return clause.id
        return SECOND if clause.replica and second else SERVING
    return None


class Lanes:
    """The lanes of one image's selected clauses, started at once."""

    def __init__(self, certification: Certification, selected: Iterable[Clause]) -> None:
        self.certification = certification
        self._stopping = threading.Event()
        self._outcomes: dict[str, concurrent.futures.Future[Outcome]] = {}
        lanes: dict[str, list[Clause]] = {}
        for clause in selected:
            lane = lane_of(clause, certification.second_server)
            if lane is not None and clause.id not in self._outcomes:
                self._outcomes[clause.id] = concurrent.futures.Future()
                lanes.setdefault(lane, []).append(clause)
        lead = [self._outcomes[c] for c in LEAD if c in self._outcomes]
        # Daemon threads: an interrupted run must not wait for a lane at exit (its containers are swept by label).
        self._threads = [
            threading.Thread(
                target=self._run,
                args=(queue, lead if lane not in (TRAINING, SERVING) else []),
                name=f"smc-lane-{lane}",
                daemon=True,
            )
            for lane, queue in lanes.items()
        ]
        for thread in self._threads:
            thread.start()

    def _run(self, queue: list[Clause], after: list[concurrent.futures.Future[Outcome]]) -> None:
        concurrent.futures.wait(after)
        for clause in queue:
            future = self._outcomes[clause.id]
            if self._stopping.is_set() or not future.set_running_or_notify_cancel():
                future.cancel()
                continue
            try:
                future.set_result(run_clause(self.certification, clause))
            except BaseException as error:  # a HarnessError: raised in the clause's own test
                future.set_exception(error)

    def outcome(self, clause: Clause) -> Outcome:
        """The outcome of ``clause``: from its lane, or run here for a clause in none."""
        future = self._outcomes.get(clause.id)
        if future is None:
            return run_clause(self.certification, clause)
        return future.result()

    def unfinished(self) -> bool:
        """Some clause of a lane has no outcome yet (the session ended early: -x, Ctrl-C)."""
        return any(not future.done() for future in self._outcomes.values())

    def stop(self) -> None:
        """Run no further check (the ones under way finish)."""
        self._stopping.set()

    def close(self) -> None:
        """Run no further check, and wait for the ones under way (each is bounded by its own limits)."""
        self.stop()
        for thread in self._threads:
            thread.join()


__all__ = ["Lanes", "lane_of"]
