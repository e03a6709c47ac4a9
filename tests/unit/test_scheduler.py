"""The scheduler (conformance.scheduler) on plain work: order by dependency, groups one at a time, the slots, the
longest path first, a start asked for by running work before the waiting nodes, stop."""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable

import pytest

from conformance.scheduler import Node, Scheduler, longest_paths

WAIT_S = 10.0
"""How long a test waits for a node: a bound against a hang, never a measurement."""


def recorder(order: list[str], key: str, gate: threading.Event | None = None) -> Callable[[], str]:
    def work() -> str:
        if gate is not None:
            assert gate.wait(WAIT_S)
        order.append(key)
        return key

    return work


def test_a_node_runs_after_its_dependencies_whatever_their_outcome() -> None:
    order: list[str] = []

    def fails() -> None:
        order.append("first")
        raise RuntimeError("the container never started")

    scheduler = Scheduler(2)
    scheduler.add(Node("second", recorder(order, "second"), after=("first", "not selected")))
    scheduler.add(Node("first", fails))
    scheduler.start()
    assert scheduler.result("second") == "second"
    with pytest.raises(RuntimeError, match="never started"):
        scheduler.result("first")
    assert order == ["first", "second"]
    scheduler.close()


def test_nodes_of_one_group_run_one_at_a_time() -> None:
    inside = 0
    most = 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal inside, most
        with lock:
            inside += 1
            most = max(most, inside)
        threading.Event().wait(0.02)
        with lock:
            inside -= 1

    scheduler = Scheduler(1)
    for n in range(4):
        scheduler.add(Node(f"check {n}", work, group="default server"))
    scheduler.add(Node("apart", work))
    scheduler.start()
    for key in ("check 0", "check 1", "check 2", "check 3", "apart"):
        scheduler.result(key)
    assert most == 2  # the node apart ran beside the group, the group's nodes never two at once
    scheduler.close()


def test_limited_nodes_never_exceed_the_slots() -> None:
    inside = 0
    most = 0
    lock = threading.Lock()
    two = threading.Event()

    def work() -> None:
        nonlocal inside, most
        with lock:
            inside += 1
            most = max(most, inside)
            if inside == 2:
                two.set()
        two.wait(0.2)
        with lock:
            inside -= 1

    scheduler = Scheduler(2)
    for n in range(5):
        scheduler.add(Node(f"run {n}", work, limited=True))
    scheduler.start()
    for n in range(5):
        scheduler.result(f"run {n}")
    assert most == 2
    scheduler.close()


def test_the_longest_path_goes_first() -> None:
    """Training on the test-dir ends: the default server, which the most work follows, takes the one slot before
    the variant runs, whatever the order they were added in."""
    order: list[str] = []
    scheduler = Scheduler(1)
    scheduler.add(Node("train default", recorder(order, "train default"), limited=True))
    for n in range(3):
        scheduler.add(Node(f"train variant {n}", recorder(order, f"train variant {n}"), ("train default",), None, True))
    scheduler.add(Node("serve default", recorder(order, "serve default"), ("train default",), limited=True))
    scheduler.add(Node("SRV-4", recorder(order, "SRV-4"), ("serve default",), weight=5.0))
    scheduler.start()
    scheduler.result("SRV-4")
    for n in range(3):
        scheduler.result(f"train variant {n}")
    assert order[:2] == ["train default", "serve default"]
    scheduler.close()


def test_longest_paths_add_the_heaviest_chain_and_refuse_a_cycle() -> None:
    nodes = [Node("a", lambda: None), Node("b", lambda: None, ("a",), weight=2.0), Node("c", lambda: None, ("a",))]
    assert longest_paths(nodes) == {"a": 3.0, "b": 2.0, "c": 1.0}
    with pytest.raises(ValueError, match="cycle"):
        longest_paths([Node("a", lambda: None, ("b",)), Node("b", lambda: None, ("a",))])


def test_a_start_asked_for_by_running_work_goes_before_the_waiting_nodes() -> None:
    order: list[str] = []
    holding, release = threading.Event(), threading.Event()

    def first() -> None:
        holding.set()
        assert release.wait(WAIT_S)
        order.append("first")

    def check() -> None:
        assert holding.wait(WAIT_S)
        with scheduler.slot():
            order.append("asked by a check")

    scheduler = Scheduler(1)
    scheduler.add(Node("first", first, limited=True, weight=10.0))
    scheduler.add(Node("ahead", recorder(order, "ahead"), limited=True, weight=5.0))
    scheduler.add(Node("check", check))
    scheduler.start()
    assert holding.wait(WAIT_S)
    while not scheduler._asking:
        threading.Event().wait(0.01)  # until the check asks
    release.set()
    for key in ("first", "ahead", "check"):
        scheduler.result(key)
    assert order == ["first", "asked by a check", "ahead"]
    scheduler.close()


def test_the_starts_asked_for_by_running_work_go_longest_path_first() -> None:
    """ENV-3 (a 10 s wait once its server is up) and two quick checks ask for a start while the one slot is held:
    ENV-3's start goes first, whatever the order they asked in; two asks of one weight keep their order."""
    order: list[str] = []
    holding, release = threading.Event(), threading.Event()

    def first() -> None:
        holding.set()
        assert release.wait(WAIT_S)

    gates = {key: threading.Event() for key in ("ENV-5", "ENV-1", "ENV-3")}

    def asking(key: str) -> Callable[[], None]:
        def check() -> None:
            assert gates[key].wait(WAIT_S)
            with scheduler.slot():
                order.append(key)

        return check

    scheduler = Scheduler(1)
    scheduler.add(Node("first", first, limited=True, weight=20.0))
    for key, weight in (("ENV-5", 1.0), ("ENV-1", 1.0), ("ENV-3", 11.0)):
        scheduler.add(Node(key, asking(key), weight=weight))
    scheduler.start()
    assert holding.wait(WAIT_S)
    for count, key in enumerate(("ENV-5", "ENV-1", "ENV-3"), 1):  # they ask in this order
        gates[key].set()
        while len(scheduler._asking) < count:
            threading.Event().wait(0.01)
    release.set()
    for key in ("ENV-5", "ENV-1", "ENV-3"):
        scheduler.result(key)
    assert order == ["ENV-3", "ENV-5", "ENV-1"]
    scheduler.close()


def test_a_limited_node_asking_for_a_start_runs_it_in_its_own_slot() -> None:
    def start() -> str:
        with scheduler.slot(), scheduler.slot():
            return "started"

    scheduler = Scheduler(1)
    scheduler.add(Node("serve default", start, limited=True))
    scheduler.start()
    assert scheduler.result("serve default") == "started"
    scheduler.close()


def test_waiting_for_a_node_from_its_own_work_returns_at_once() -> None:
    scheduler = Scheduler(1)
    scheduler.add(Node("self", lambda: scheduler.wait("self") or "ok"))
    scheduler.start()
    assert scheduler.result("self") == "ok"
    scheduler.close()


def test_stop_cancels_what_has_not_started() -> None:
    gate = threading.Event()
    order: list[str] = []
    scheduler = Scheduler(1)
    scheduler.add(Node("running", recorder(order, "running", gate), limited=True))
    scheduler.add(Node("queued", recorder(order, "queued"), ("running",)))
    scheduler.start()
    scheduler.stop()
    assert scheduler.unfinished()
    gate.set()
    scheduler.close()
    assert order == ["running"]
    with pytest.raises(concurrent.futures.CancelledError):
        scheduler.result("queued")


def test_a_node_cannot_join_a_started_graph() -> None:
    scheduler = Scheduler(1)
    scheduler.start()
    with pytest.raises(RuntimeError):
        scheduler.add(Node("late", lambda: None))
    scheduler.close()
