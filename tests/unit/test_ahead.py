"""Starting containers ahead of the checks (conformance.sharing: plan, Slots, Certification.prefetch) and the check
lanes (conformance.lanes), on the in-memory target: the same verdicts and the same containers as one after another,
each started once, never more at once than the concurrency allows, a check's own need served first, and serving
checks that do not wait for training ones."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance import contract
from conformance.context import CheckContext, CountedServer
from conformance.failures import DependencyFailed, Violation
from conformance.http import Exchange
from conformance.lanes import Lanes
from conformance.limits import INVOCATION, LimitExceeded, Limits
from conformance.opt_ml import TRAIN_DEFAULT, TRAIN_DEFAULTS_AND_EXTRA_KEYS, TrainSpec
from conformance.registry import REGISTRY, Clause, clauses, with_needs
from conformance.runner import PASS, run_clause
from conformance.sharing import (
    AHEAD_OF_NEED,
    DEFAULT,
    SERVE_DEFAULT,
    SERVE_EMPTY_MODEL,
    SERVE_ISOLATED,
    SERVE_SECOND,
    SERVE_SIGTERM,
    URGENT,
    Options,
    Slots,
    concurrency,
    plan,
)
from conformance.targets import Server, ServeSpec
from conformance.targets.results import TrainResult
from conformance.testdir import load

from .checkfakes import FakeImage, GoodImage, write_test_dir
from .fakeimages import PingThreeSeconds, SlowInvocations
from .faketarget import FakeCertification

WAIT_S = 10.0
"""How long a test waits for a thread it started: a bound against a hang, never a measurement."""


def certification(tmp_path: Path, image: FakeImage | None = None, slots: int | None = None) -> FakeCertification:
    test_dir = load(write_test_dir(tmp_path / "td"))
    return FakeCertification(
        image or GoodImage(), test_dir, tmp_path / "stage", Options(max_examples=0, concurrency=slots)
    )


def verdicts(made: FakeCertification) -> dict[str, str]:
    return {clause.id: run_clause(made, clause).verdict for clause in clauses()}


def test_a_static_clause_plans_no_container(tmp_path: Path) -> None:
    policy = load(write_test_dir(tmp_path / "td")).policy
    list(clauses())
    assert plan([REGISTRY["IMG-2"], REGISTRY["IMG-4"]], policy) == []
    # A capability the image does not claim starts nothing either.
    assert plan([REGISTRY["ENV-7"], REGISTRY["ENV-9"]], policy) == []


def test_a_clause_plans_the_default_it_needs_and_what_it_uses(tmp_path: Path) -> None:
    policy = load(write_test_dir(tmp_path / "td")).policy
    list(clauses())
    assert plan([REGISTRY["TRN-2"]], policy) == [TRAIN_DEFAULT, TRAIN_DEFAULTS_AND_EXTRA_KEYS]
    assert plan([REGISTRY["SRV-11"], REGISTRY["SRV-14"]], policy) == [
        SERVE_DEFAULT,
        SERVE_SIGTERM,
        SERVE_DEFAULT,
        SERVE_ISOLATED,
    ]
    (_, sigterm) = plan([REGISTRY["TRN-7"]], policy)
    assert isinstance(sigterm, TrainSpec)
    assert sigterm.sigterm_after is not None


def test_the_default_concurrency_is_one_per_engine_cpu() -> None:
    assert concurrency(Options(), 4) == 4
    assert concurrency(Options(), 0) == 1
    assert concurrency(Options(concurrency=3), 2) == 3


def test_starting_ahead_gives_the_same_verdicts_and_containers(tmp_path: Path) -> None:
    serial = certification(tmp_path / "serial")
    expected = verdicts(serial)
    ahead = certification(tmp_path / "ahead")
    ahead.prefetch(plan(clauses(), ahead.policy))
    assert verdicts(ahead) == expected
    names = [name for name, _ in ahead.trainings]
    assert len(names) == len(set(names)), f"a run was started twice: {names}"
    assert sorted(names) == sorted(name for name, _ in serial.trainings)
    launched = sorted(name for name, *_ in ahead.fake_target.launches)
    assert launched == sorted(name for name, *_ in serial.fake_target.launches)
    assert ahead.containers_started == serial.containers_started
    ahead.close()


@dataclass
class Gated(GoodImage):
    """Training blocks until released, and counts how many runs are in flight at once."""

    def __post_init__(self) -> None:
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.two_in_flight = threading.Event()

    def train(self, spec: TrainSpec, sigterm_after: float | None, input_dir: Path) -> TrainResult:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
            if self.running >= 2:
                self.two_in_flight.set()
        try:
            if spec.name != TRAIN_DEFAULT.name:
                assert self.release.wait(WAIT_S)
            return super().train(spec, sigterm_after, input_dir)
        finally:
            with self.lock:
                self.running -= 1


def test_runs_start_side_by_side_but_never_more_than_the_concurrency(tmp_path: Path) -> None:
    image = Gated()
    made = certification(tmp_path, image, slots=2)
    made.prefetch(plan(clauses(), made.policy))
    assert image.two_in_flight.wait(WAIT_S), "no two runs were ever in flight"
    image.release.set()
    made.close()  # waits for what was started ahead
    assert image.most == 2


def test_a_check_waiting_for_a_run_shares_the_one_under_way(tmp_path: Path) -> None:
    image = Gated()
    made = certification(tmp_path, image, slots=2)
    made.prefetch([TRAIN_DEFAULT, TRAIN_DEFAULTS_AND_EXTRA_KEYS])
    deadline = time.monotonic() + WAIT_S
    while image.running == 0 and time.monotonic() < deadline:
        time.sleep(0.01)  # until the run ahead is under way
    got: list[TrainResult] = []
    asking = threading.Thread(target=lambda: got.append(made.train(TRAIN_DEFAULTS_AND_EXTRA_KEYS)))
    asking.start()
    image.release.set()
    asking.join(WAIT_S)
    assert got
    assert got[0] is made.train(TRAIN_DEFAULTS_AND_EXTRA_KEYS)
    assert [name for name, _ in made.trainings].count(TRAIN_DEFAULTS_AND_EXTRA_KEYS.name) == 1
    made.close()


def test_a_start_a_check_waits_for_goes_first() -> None:
    slots = Slots(1)
    order: list[str] = []
    holding = threading.Event()
    release = threading.Event()

    def hold(key: str, urgent: bool, then: threading.Event | None = None) -> None:
        with slots.hold(key, urgency=URGENT if urgent else AHEAD_OF_NEED):
            order.append(key)
            if then is not None:
                holding.set()
                assert then.wait(WAIT_S)

    first = threading.Thread(target=hold, args=("first", False, release))
    first.start()
    assert holding.wait(WAIT_S)
    ahead = threading.Thread(target=hold, args=("ahead", False))
    wanted = threading.Thread(target=hold, args=("wanted", False))
    ahead.start()
    deadline = time.monotonic() + WAIT_S
    while len(slots._waiting) < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    wanted.start()
    while len(slots._waiting) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    slots.hurry("wanted")  # a check now waits for it
    release.set()
    for thread in (first, ahead, wanted):
        thread.join(WAIT_S)
    assert order == ["first", "wanted", "ahead"]


def test_starts_are_served_by_need_then_by_the_wait_to_come() -> None:
    slots = Slots(1)
    order: list[str] = []
    holding = threading.Event()
    release = threading.Event()

    def hold(key: str, urgency: int, waits: float = 0.0) -> None:
        with slots.hold(key, urgency=urgency, waits=waits):
            order.append(key)
            if key == "first":
                holding.set()
                assert release.wait(WAIT_S)

    first = threading.Thread(target=hold, args=("first", URGENT))
    first.start()
    assert holding.wait(WAIT_S)
    queued = [("ahead", AHEAD_OF_NEED, 0.0), ("default", DEFAULT, 0.0), ("short", URGENT, 0.0), ("long", URGENT, 10.0)]
    threads = [threading.Thread(target=hold, args=entry) for entry in queued]
    deadline = time.monotonic() + WAIT_S
    for number, thread in enumerate(threads, 1):
        thread.start()
        while len(slots._waiting) < number and time.monotonic() < deadline:
            time.sleep(0.01)
    release.set()
    for thread in (first, *threads):
        thread.join(WAIT_S)
    assert order == ["first", "default", "long", "short", "ahead"]


def test_the_lanes_give_the_verdicts_of_one_check_after_another(tmp_path: Path) -> None:
    serial = verdicts(certification(tmp_path / "serial"))
    made = certification(tmp_path / "lanes")
    made.prefetch(plan(clauses(), made.policy))
    lanes = Lanes(made, clauses())
    assert {clause.id: lanes.outcome(clause).verdict for clause in clauses()} == serial
    lanes.close()
    made.close()


@dataclass
class SlowTraining(GoodImage):
    """Training waits until a serving check has run: only a lane of its own lets serving go first."""

    def __post_init__(self) -> None:
        self.served = threading.Event()

    def train(self, spec: TrainSpec, sigterm_after: float | None, input_dir: Path) -> TrainResult:
        if spec.name != TRAIN_DEFAULT.name:
            assert self.served.wait(WAIT_S), "the serving checks waited for the training checks"
        return super().train(spec, sigterm_after, input_dir)


def test_serving_checks_do_not_wait_for_the_training_checks(tmp_path: Path) -> None:
    image = SlowTraining()
    made = certification(tmp_path, image)
    lanes = Lanes(made, clauses())
    assert lanes.outcome(REGISTRY["SRV-4"]).verdict == PASS
    image.served.set()
    assert lanes.outcome(REGISTRY["TRN-2"]).verdict == PASS
    lanes.close()
    made.close()


def test_a_request_counts_for_the_check_that_sent_it_whatever_the_thread(tmp_path: Path) -> None:
    made = certification(tmp_path / "a")
    server = CheckContext(made, "SRV-13").server()
    slow = Exchange("POST", "http://x" + contract.INVOCATIONS_PATH, {}, b"", None, "", {}, b"", 61.0)
    sent = threading.Thread(target=made.limits.after, args=("SRV-13", slow))
    sent.start()
    sent.join(WAIT_S)
    assert made.limits.breaches[INVOCATION].clause == "SRV-13"
    assert isinstance(server, CountedServer)
    assert server.clause == "SRV-13"
    # A training check between two serving checks changes nothing in the limits (it sends no request).
    run_clause(made, REGISTRY["TRN-2"])
    assert made.limits.seen_by("SRV-13")
    assert not made.limits.seen_by("TRN-2")


def test_a_breach_met_while_another_checks_was_in_flight_is_that_checks() -> None:
    limits = Limits()
    slow = Exchange("POST", "http://x" + contract.INVOCATIONS_PATH, {}, b"", None, "", {}, b"", 61.0)
    limits.after("SRV-16", slow)
    with pytest.raises(DependencyFailed) as skipped:
        limits.after("ENV-4", slow)  # its own request, in flight at the same time, came back too late as well
    assert skipped.value.clause_id == "SRV-16"
    with pytest.raises(LimitExceeded):
        limits.before("SRV-16", "POST", contract.INVOCATIONS_PATH)
    assert limits.seen_by("ENV-4") == []


@pytest.mark.parametrize("image", [GoodImage(), SlowInvocations(), PingThreeSeconds()], ids=type)
def test_the_lanes_give_the_verdicts_of_one_check_after_another_on_broken_images(
    tmp_path: Path, image: FakeImage
) -> None:
    serial_run = certification(tmp_path / "serial", image)
    serial = {clause.id: run_clause(serial_run, clause).reason for clause in clauses()}
    made = certification(tmp_path / "lanes", image)
    made.prefetch(plan(clauses(), made.policy))
    lanes = Lanes(made, clauses())
    assert {clause.id: lanes.outcome(clause).reason for clause in clauses()} == serial
    lanes.close()
    made.close()


def test_checks_apart_run_beside_the_default_servers_checks_once_the_lead_is_in(tmp_path: Path) -> None:
    made = certification(tmp_path)
    order: list[str] = []
    srv4_held = threading.Event()

    def wrapped(clause_id: str) -> Clause:
        clause = REGISTRY[clause_id]

        def function(ctx: CheckContext) -> list[Violation]:
            order.append(f"{clause_id} started")
            if clause_id == "SRV-4":
                assert srv4_held.wait(WAIT_S), "SRV-11 waited for SRV-4"
            found = clause.run(ctx)
            order.append(f"{clause_id} done")
            return found

        return dataclasses.replace(clause, function=function)

    selected = [wrapped(c) for c in ("SRV-1", "SRV-2", "SRV-3", "SRV-4", "SRV-11")]
    lanes = Lanes(made, selected)
    assert lanes.outcome(selected[4]).verdict == PASS  # while SRV-4 is held in the default server's lane
    srv4_held.set()
    assert [lanes.outcome(c).verdict for c in selected[:4]] == [PASS] * 4
    # The check apart started once the lead's outcomes were in.
    assert order.index("SRV-11 started") > order.index("SRV-3 done")
    lanes.close()
    made.close()


def test_a_check_on_the_second_server_uses_its_own_server_of_the_default_configuration(tmp_path: Path) -> None:
    made = certification(tmp_path)
    list(clauses())
    selected = [REGISTRY[c] for c in ("SRV-1", "SRV-2", "SRV-3", "SRV-4", "SRV-13")]
    assert SERVE_SECOND in plan(selected, made.policy)
    made.select(selected)
    lanes = Lanes(made, selected)
    assert [lanes.outcome(c).verdict for c in selected] == [PASS] * 5
    posted = {
        name: {len(body) for method, _, body, _ in server.requests if method == "POST"}
        for name, server in made.servers.items()
    }
    assert max(posted["default-2"]) > 100_000  # SRV-13's load went to the second server
    assert max(posted["default"]) < 100_000  # and none of it to the one SRV-4 used
    lanes.close()
    made.close()


def test_a_narrow_selection_starts_no_second_server_and_no_empty_model_server(tmp_path: Path) -> None:
    """`--clause SRV-13` (and what it needs): nothing else shares the default server, so SRV-13 loads that one, and
    SRV-12's server, not selected, is never started."""
    made = certification(tmp_path)
    selected = with_needs(["SRV-13"])
    assert [c.id for c in selected] == ["IMG-1", "TRN-1", "SRV-1", "SRV-2", "SRV-3", "SRV-13"]
    assert plan(selected, made.policy) == [TRAIN_DEFAULT, SERVE_DEFAULT, SERVE_DEFAULT, SERVE_DEFAULT, SERVE_DEFAULT]
    made.select(selected)
    lanes = Lanes(made, selected)
    assert [lanes.outcome(c).verdict for c in selected] == [PASS] * 6
    lanes.close()
    made.close()
    assert sorted(made.servers) == ["default"]
    assert made.containers_started == 2


def test_a_check_that_asks_while_a_server_starts_ahead_gets_its_ping_waited_for(tmp_path: Path) -> None:
    """SRV-12's server is started ahead without waiting for its /ping; SRV-12 asking in the middle of that start
    must judge the server once its watch is over, not the start's bare result (a catalogue image's 200 without a
    model passed that way)."""
    made = certification(tmp_path)
    in_ahead, release = threading.Event(), threading.Event()
    launch = made._launch

    def held_launch(spec: ServeSpec, *, wait: bool, default: Server | None = None) -> Server:
        if spec.name == SERVE_EMPTY_MODEL.name and not wait:
            in_ahead.set()
            assert release.wait(WAIT_S)
        return launch(spec, wait=wait, default=default)

    made._launch = held_launch  # type: ignore[method-assign]
    made.prefetch([])  # a pool for the starts ahead, nothing planned
    made.server(SERVE_DEFAULT)  # healthy: SRV-12's server is started ahead now
    assert in_ahead.wait(WAIT_S)
    got: list[Server] = []
    asking = threading.Thread(target=lambda: got.append(made.server(SERVE_EMPTY_MODEL)))
    asking.start()
    release.set()
    asking.join(WAIT_S)
    assert got
    assert not got[0].watching  # type: ignore[attr-defined]
    made.close()


def test_the_training_variants_let_the_default_server_take_its_slot_first(tmp_path: Path) -> None:
    """The run on the test-dir ends and the default server, which waited for its model, asks for a slot: the
    variant runs, started only ahead of need, must not take the free slots before it."""
    made = certification(tmp_path, slots=1)
    taken: list[str] = []
    hold = made._slots.hold

    @contextlib.contextmanager
    def recorded(key: str, *, urgency: int, waits: float = 0.0) -> Iterator[None]:
        with hold(key, urgency=urgency, waits=waits):
            taken.append(key)
            yield

    made._slots.hold = recorded  # type: ignore[method-assign]
    variant_asked = threading.Event()
    model_source, train = made.model_source, made.train

    def late_model_source() -> Path:
        # The server thread is slower to ask than the training thread: give a variant the chance to go first.
        variant_asked.wait(0.5)
        return model_source()

    def noted_train(spec: TrainSpec = TRAIN_DEFAULT) -> TrainResult:
        if spec.name != TRAIN_DEFAULT.name:
            variant_asked.set()
        return train(spec)

    made.model_source = late_model_source  # type: ignore[method-assign]
    made.train = noted_train  # type: ignore[method-assign]
    made.prefetch([TRAIN_DEFAULT, TRAIN_DEFAULTS_AND_EXTRA_KEYS, SERVE_DEFAULT])
    made.default_server()
    made.close()
    after_training = taken[taken.index(f"train {TRAIN_DEFAULT.name}") + 1 :]
    assert after_training[0] == f"serve {SERVE_DEFAULT.name}", taken


def test_closing_stops_the_servers_side_by_side(tmp_path: Path) -> None:
    made = certification(tmp_path)
    made.server(SERVE_DEFAULT)
    made.server(SERVE_SECOND)
    together = threading.Barrier(2, timeout=WAIT_S / 2)
    met: list[str] = []
    for name, server in made.servers.items():
        if name in (SERVE_DEFAULT.name, SERVE_SECOND.name):
            stop = server.stop

            def stop_together(stop: Callable[[], None] = stop, name: str = name) -> None:
                with contextlib.suppress(threading.BrokenBarrierError):
                    together.wait()  # only when the other one is stopping at the same time
                    met.append(name)
                stop()

            server.stop = stop_together  # type: ignore[method-assign]
    made.close()
    assert sorted(met) == sorted([SERVE_DEFAULT.name, SERVE_SECOND.name])
