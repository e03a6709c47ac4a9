"""The checks of one image in two lanes side by side: training, and serving with its environment.

pytest runs one test per clause, in the specification's order; if each test ran its check, every serving check
would wait for all the training checks before it, though they share nothing but the model. So the first test of an
image starts two lanes: one thread runs the selected TRN clauses in order, another the SRV and ENV clauses; each
test then waits for its own clause's outcome and reports it (IMG clauses read the image and run in the test
itself). Within a lane the checks still run one after another, so everything a serving check relies on holds as
before: the default server an earlier check broke is replaced, a broken limit is seen by the checks after it, and
the server is loaded by one check at a time. The lanes meet only in :class:`~conformance.sharing.Certification`,
which starts each container once whichever lane asks first. The training lane sends no HTTP request, so the
certification's :class:`~conformance.limits.Limits` stay the serving lane's alone.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Iterable

from conformance.registry import Clause, Phase
from conformance.runner import Outcome, run_clause
from conformance.sharing import Certification

LANES = {Phase.TRAINING: "training", Phase.SERVING: "serving", Phase.ENVIRONMENT: "serving"}
"""The lane of each phase; IMG clauses have none (they run in their own test)."""


class Lanes:
    """The lanes of one image's selected clauses, started at once."""

    def __init__(self, certification: Certification, selected: Iterable[Clause]) -> None:
        self.certification = certification
        self._stopping = threading.Event()
        self._outcomes: dict[str, concurrent.futures.Future[Outcome]] = {}
        lanes: dict[str, list[Clause]] = {}
        for clause in selected:
            lane = LANES.get(clause.phase)
            if lane is not None and clause.id not in self._outcomes:
                self._outcomes[clause.id] = concurrent.futures.Future()
                lanes.setdefault(lane, []).append(clause)
        # Daemon threads: an interrupted run must not wait for a lane at exit (its containers are swept by label).
        self._threads = [
            threading.Thread(target=self._run, args=(queue,), name=f"smc-lane-{lane}", daemon=True)
            for lane, queue in lanes.items()
        ]
        for thread in self._threads:
            thread.start()

    def _run(self, queue: list[Clause]) -> None:
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


__all__ = ["LANES", "Lanes"]
