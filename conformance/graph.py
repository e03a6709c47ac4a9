"""One certification as one graph: the containers its clauses use and the clauses themselves, run by one
:class:`~conformance.scheduler.Scheduler`.

pytest runs one test per clause, in the specification's order; if each test ran its check, every check would wait
for all the checks before it, though most share nothing but the model. So the first test of an image builds the
graph and starts it; each test then waits for its own clause's outcome and reports it.

- The containers (:meth:`~conformance.sharing.Certification.container_nodes`): the training run on the test-dir,
  then its variants; the default server after that run, then its variants. Each holds a slot while it starts.
- A clause runs once the clauses it needs (:attr:`~conformance.registry.Clause.needs`) and the containers it uses
  are done, so that what they found (a server that never became healthy, a ping or an invocation over SageMaker's
  limit) makes it skip naming them.
- The checks that share the default server run one at a time (one loads it at a time, and a server an earlier
  check broke is replaced before the next uses it), and so do those on its second and the training checks. A check
  :attr:`~conformance.registry.Clause.apart` has servers of its own and runs beside them. SRV-11's stop takes the
  second server once the checks on it are done.
- Weights: a container start, and each check's own wait (:attr:`~conformance.registry.Clause.waits`), so the
  longest chain (ENV-3's frozen request, with its server) starts first.

The clauses meet in the :class:`~conformance.sharing.Certification`, which starts each container once whichever
node asks first, and in its :class:`~conformance.limits.Limits`, which count each request for the check that sent it.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from conformance.opt_ml import TRAIN_DEFAULT
from conformance.registry import Clause, Level, Phase
from conformance.runner import Outcome, run_clause
from conformance.scheduler import Node
from conformance.servers import SERVE_DEFAULT, SERVE_SECOND
from conformance.sharing import Certification, node_key

CHECK_WEIGHT = 1.0
"""A check's weight beyond its own wait, in the seconds of :data:`conformance.sharing.START_WEIGHT`."""


def group_of(clause: Clause, second: bool) -> str | None:
    """The checks that run one at a time with ``clause``: the training checks; those on the default server; those
    on its second (:attr:`~conformance.registry.Clause.replica`); none for a check apart or an IMG clause."""
    if clause.phase is Phase.TRAINING:
        return "training checks"
    if clause.phase in (Phase.SERVING, Phase.ENVIRONMENT) and not clause.apart:
        return "checks on default-2" if clause.replica and second else "checks on default"
    return None


def uses(certification: Certification, clause: Clause) -> list[str]:
    """The container nodes ``clause``'s check will ask for: the default run or server of its phase (a CONDITIONAL
    clause's only when it claims them), its replica's, and its :attr:`~conformance.registry.Clause.uses` that the
    image claims (a shared run's or server's node for a shareable one:
    :meth:`~conformance.sharing.Certification.started_as`)."""
    found = []
    if clause.level is not Level.CONDITIONAL:
        if clause.phase is Phase.TRAINING:
            found.append(node_key(TRAIN_DEFAULT))
        elif clause.phase in (Phase.SERVING, Phase.ENVIRONMENT):
            found += dict.fromkeys([node_key(SERVE_DEFAULT), node_key(certification.replica_spec(clause))])
    planned = [spec for spec in clause.planned(certification.policy) if certification.claims(spec)]
    found += [node_key(certification.started_as(spec)) for spec in planned]
    return found


def clause_node(certification: Certification, clause: Clause, replicas: Iterable[str] = ()) -> Node:
    """The node of ``clause``: after its needs and the containers it uses; a check that is not a replica but uses the
    second server (SRV-11's stop: :meth:`~conformance.sharing.Certification.started_as`) after the ``replicas``, the
    checks on that server, too."""
    used = uses(certification, clause)
    last = () if clause.replica or node_key(SERVE_SECOND) not in used else tuple(replicas)
    return Node(
        clause.id,
        partial(run_clause, certification, clause),
        after=(*clause.needs, *used, *last),
        group=group_of(clause, certification.second_server),
        weight=CHECK_WEIGHT + clause.waits,
    )


class Graph:
    """The graph of one image's selected clauses, started at once."""

    def __init__(self, certification: Certification, selected: Iterable[Clause]) -> None:
        self.certification = certification
        self.scheduler = certification.scheduler
        chosen = list({clause.id: clause for clause in selected}.values())
        for node in certification.container_nodes(certification.select(chosen)):
            self.scheduler.add(node)
        replicas = [clause.id for clause in chosen if clause.replica] if certification.second_server else []
        for clause in chosen:
            self.scheduler.add(clause_node(certification, clause, replicas))
        self.scheduler.start()

    def outcome(self, clause: Clause) -> Outcome:
        """The outcome of ``clause``: from the graph, or run here for a clause not in it."""
        if not self.scheduler.has(clause.id):
            return run_clause(self.certification, clause)
        outcome: Outcome = self.scheduler.result(clause.id)
        return outcome

    def unfinished(self) -> bool:
        """Some node has no outcome yet (the session ended early: -x, Ctrl-C)."""
        return self.scheduler.unfinished()

    def stop(self) -> None:
        """Start no further node (the ones under way finish)."""
        self.scheduler.stop()

    def close(self) -> None:
        """Start no further node, and wait for the ones under way (each is bounded by its own limits)."""
        self.scheduler.close()


__all__ = ["Graph", "clause_node", "group_of", "uses"]
