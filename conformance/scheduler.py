"""One scheduler for one certification: a graph of nodes, each run once its dependencies are done.

A node is a container to start (a training run, a server) or a clause to judge. It runs once every node it comes
``after`` is done (whatever their outcome: an outcome is for the node to interpret, not for the scheduler). Nodes of
one ``group`` run one at a time (the checks that share one server). A ``limited`` node holds one of the
``concurrency`` slots while it runs (a container starting or training), and so does a start asked for by a running
node itself (:meth:`Scheduler.slot`), before any node waiting for a slot, the asking node with the longest path
first. Among the nodes ready at one moment, the
one with the longest path ahead of it (its weight plus the heaviest chain of nodes that come after it) starts first,
so the chain that decides when the certification ends is never queued behind work that could wait.

It knows nothing of images or clauses: :mod:`conformance.graph` builds the certification's graph.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Node:
    key: str
    work: Callable[[], Any]
    after: tuple[str, ...] = ()
    """The nodes this one runs after; one not in the graph is no dependency (a clause the session did not select)."""
    group: str | None = None
    """Nodes of one group run one at a time."""
    limited: bool = False
    """The node holds one of the concurrency slots while it runs."""
    weight: float = 1.0
    """Its expected duration, in any unit the graph uses throughout: only the order of the sums counts."""


def longest_paths(nodes: Iterable[Node]) -> dict[str, float]:
    """Each node's weight plus the heaviest chain of nodes that come after it (its priority). Raises ValueError on a
    cycle."""
    graph = {node.key: node for node in nodes}
    after = {key: tuple(dep for dep in node.after if dep in graph) for key, node in graph.items()}
    followers: dict[str, list[str]] = {key: [] for key in graph}
    for key, deps in after.items():
        for dep in deps:
            followers[dep].append(key)
    found: dict[str, float] = {}
    visiting: set[str] = set()

    def path(key: str) -> float:
        if key in found:
            return found[key]
        if key in visiting:
            raise ValueError(f"the graph has a cycle through {key!r}")
        visiting.add(key)
        found[key] = graph[key].weight + max((path(f) for f in followers[key]), default=0.0)
        visiting.discard(key)
        return found[key]

    for key in graph:
        path(key)
    return found


class Scheduler:
    """Runs a graph of :class:`Node` once, each node in a thread of its own, under ``concurrency`` slots."""

    def __init__(self, concurrency: int) -> None:
        self.concurrency = max(1, concurrency)
        self._nodes: dict[str, Node] = {}
        self._futures: dict[str, concurrent.futures.Future[Any]] = {}
        self._changed = threading.Condition()
        self._priority: dict[str, float] = {}
        self._pending: list[str] = []
        self._busy_groups: set[str] = set()
        self._free = self.concurrency
        self._holders: dict[int, int] = {}
        """Thread ident -> slots it holds: a start asked for inside work that holds a slot runs in that slot."""
        self._asking: list[tuple[float, int]] = []
        """(minus the asking node's priority, ticket) of the slots asked for by running work: served longest path
        first, then first come, first served."""
        self._tickets = 0
        self._node_threads: dict[str, int] = {}
        self._thread_nodes: dict[int, str] = {}
        self._threads: list[threading.Thread] = []
        self._started = False
        self._stopping = False

    def add(self, node: Node) -> None:
        with self._changed:
            if self._started:
                raise RuntimeError(f"node {node.key!r} added after the scheduler started")
            if node.key in self._nodes:
                raise ValueError(f"a node {node.key!r} is already in the graph")
            self._nodes[node.key] = node
            self._futures[node.key] = concurrent.futures.Future()

    def has(self, key: str) -> bool:
        return key in self._nodes

    def start(self) -> None:
        """Run the graph; returns at once. Acts once."""
        with self._changed:
            if self._started:
                return
            self._priority = longest_paths(self._nodes.values())
            order = {key: n for n, key in enumerate(self._nodes)}
            self._pending = sorted(self._nodes, key=lambda key: (-self._priority[key], order[key]))
            self._started = True
            self._dispatch()

    def result(self, key: str) -> Any:
        """The node's outcome (its work's return value, or its exception raised here), once it is done. Raises
        concurrent.futures.CancelledError for a node that never ran (:meth:`stop`)."""
        return self._futures[key].result()

    def wait(self, key: str) -> None:
        """Until the node ``key`` is done, if there is one; at once when called from that node's own work."""
        future = self._futures.get(key)
        if future is None or self._node_threads.get(key) == threading.get_ident():
            return
        concurrent.futures.wait([future])

    def done(self, key: str) -> bool:
        return self._futures[key].done()

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """One of the slots, for a start that running work asks for itself: served before any node waiting for
        one, the asking node with the longest path ahead first (ENV-3's server, whose check then waits 10 s, before
        a quick check's), else in the order asked. Work that holds a slot already (a limited node) runs the start
        in it."""
        me = threading.get_ident()
        with self._changed:
            if self._holders.get(me):
                self._holders[me] += 1
                nested = True
            else:
                nested = False
                self._tickets += 1
                asker = self._thread_nodes.get(me)
                ticket = (-self._priority.get(asker, 0.0) if asker is not None else 0.0, self._tickets)
                self._asking.append(ticket)
                self._changed.wait_for(lambda: self._free > 0 and min(self._asking) == ticket)
                self._asking.remove(ticket)
                self._free -= 1
                self._holders[me] = 1
                self._changed.notify_all()
        try:
            yield
        finally:
            with self._changed:
                self._holders[me] -= 1
                if not nested:
                    del self._holders[me]
                    self._free += 1
                    self._dispatch()
                    self._changed.notify_all()

    def unfinished(self) -> bool:
        """Some node has no outcome yet (the session ended early: -x, Ctrl-C)."""
        return any(not future.done() for future in self._futures.values())

    def stop(self) -> None:
        """Start no further node: those not started are cancelled (the ones under way finish)."""
        with self._changed:
            self._stopping = True
            for key in self._pending:
                self._futures[key].cancel()
            self._pending.clear()
            self._changed.notify_all()

    def close(self) -> None:
        """Stop, and wait for the nodes under way (each is bounded by its own limits)."""
        self.stop()
        for thread in list(self._threads):
            if thread.ident != threading.get_ident():
                thread.join()

    # --- inside ---------------------------------------------------------------------------------
    def _ready(self, key: str) -> bool:
        node = self._nodes[key]
        if node.group is not None and node.group in self._busy_groups:
            return False
        if node.limited and (self._free == 0 or self._asking):
            return False
        return all(self._futures[dep].done() for dep in node.after if dep in self._futures)

    def _dispatch(self) -> None:
        """Start every pending node that is ready, highest priority first (called with the lock held)."""
        if self._stopping or not self._started:
            return
        for key in list(self._pending):
            if not self._ready(key):
                continue
            node = self._nodes[key]
            self._pending.remove(key)
            if node.group is not None:
                self._busy_groups.add(node.group)
            if node.limited:
                self._free -= 1
            # Daemon threads: an interrupted session must not wait for a node at exit (its containers are swept).
            thread = threading.Thread(target=self._run, args=(node,), name=f"smc {key}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def _run(self, node: Node) -> None:
        me = threading.get_ident()
        future = self._futures[node.key]
        with self._changed:
            self._node_threads[node.key] = me
            self._thread_nodes[me] = node.key
            if node.limited:
                self._holders[me] = 1
        if future.set_running_or_notify_cancel():
            try:
                result = node.work()
            except BaseException as error:  # the node's outcome, raised to whoever asks for it
                future.set_exception(error)
            else:
                future.set_result(result)
        with self._changed:
            self._thread_nodes.pop(me, None)  # an ident is reused once its thread ends
            if node.limited:
                self._holders.pop(me, None)
                self._free += 1
            if node.group is not None:
                self._busy_groups.discard(node.group)
            self._dispatch()
            self._changed.notify_all()


__all__ = ["Node", "Scheduler", "longest_paths"]
