"""Starting containers ahead of the checks (conformance.sharing: plan, Slots, Certification.prefetch) and the check
lanes (conformance.lanes), on the in-memory target: the same verdicts and the same containers as one after another,
each started once, never more at once than the concurrency allows, a check's own need served first, and serving
checks that do not wait for training ones."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from conformance.lanes import Lanes
from conformance.opt_ml import TRAIN_DEFAULT, TRAIN_DEFAULTS_AND_EXTRA_KEYS, TrainSpec
from conformance.registry import REGISTRY, clauses
from conformance.runner import PASS, run_clause
from conformance.sharing import SERVE_DEFAULT, SERVE_ISOLATED, SERVE_SIGTERM, Options, Slots, concurrency, plan
from conformance.targets.results import TrainResult
from conformance.testdir import load

from .checkfakes import FakeCertification, FakeImage, GoodImage, write_test_dir

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
        with slots.hold(key, urgent=urgent):
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


def test_a_training_check_leaves_the_serving_checks_limits_alone(tmp_path: Path) -> None:
    made = certification(tmp_path)
    made.limits.clause = "SRV-3"
    run_clause(made, REGISTRY["TRN-2"])
    assert made.limits.clause == "SRV-3"
