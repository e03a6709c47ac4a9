"""The certification's graph (conformance.graph, conformance.sharing: plan, Certification.container_nodes), on the
in-memory target: containers started ahead of the checks, the same verdicts and the same containers as one check
after another, each started once, never more at once than the concurrency allows, the default server before the
variants, and serving checks that do not wait for training ones."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conformance import contract
from conformance.context import CheckContext
from conformance.counted import CountedServer
from conformance.failures import DependencyFailed, Violation
from conformance.graph import Graph, uses
from conformance.http import Exchange
from conformance.limits import INVOCATION, LimitExceeded, Limits
from conformance.opt_ml import TRAIN_DEFAULT, TRAIN_DEFAULTS_AND_EXTRA_KEYS, TRAIN_EMPTY_CHANNEL, TrainSpec
from conformance.options import Options, concurrency
from conformance.registry import REGISTRY, Clause, clauses, with_needs
from conformance.runner import PASS, run_clause
from conformance.servers import SERVE_DEFAULT, SERVE_EMPTY_MODEL, SERVE_ISOLATED, SERVE_SECOND, SERVE_SIGTERM
from conformance.sharing import Certification, plan
from conformance.targets import Server, ServeSpec
from conformance.targets.results import TrainResult
from conformance.testdir import load

from .checkfakes import FakeImage, GoodImage, write_test_dir
from .fakeimages import PingThreeSeconds, SlowInvocations
from .fakeserver import FakeServer
from .faketarget import FakeCertification

WAIT_S = 10.0
"""How long a test waits for a thread it started: a bound against a hang, never a measurement."""


def certification(tmp_path: Path, image: FakeImage | None = None, slots: int | None = None) -> FakeCertification:
    test_dir = load(write_test_dir(tmp_path / "td"))
    return FakeCertification(
        image or GoodImage(), test_dir, tmp_path / "stage", Options(max_examples=0, concurrency=slots)
    )


def ahead(made: Certification, planned: list[TrainSpec | ServeSpec]) -> None:
    """Start ``planned`` ahead, as the graph does, with no clause in it."""
    for node in made.container_nodes(planned):
        made.scheduler.add(node)
    made.scheduler.start()


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


def test_a_run_and_a_server_of_one_name_are_two_nodes(tmp_path: Path) -> None:
    made = certification(tmp_path)
    list(clauses())
    keys = [node.key for node in made.container_nodes(made.select([REGISTRY["TRN-7"], REGISTRY["SRV-11"]]))]
    assert "train sigterm" in keys, keys
    assert "serve sigterm" in keys, keys
    made.close()


def test_the_default_concurrency_is_one_per_engine_cpu() -> None:
    assert concurrency(Options(), 4) == 4
    assert concurrency(Options(), 0) == 1
    assert concurrency(Options(concurrency=3), 2) == 3


def test_starting_ahead_gives_the_same_verdicts_and_containers(tmp_path: Path) -> None:
    serial = certification(tmp_path / "serial")
    serial.select(clauses())  # the same shares; nothing started
    expected = verdicts(serial)
    made = certification(tmp_path / "ahead")
    ahead(made, made.select(clauses()))
    assert verdicts(made) == expected
    names = [name for name, _ in made.trainings]
    assert len(names) == len(set(names)), f"a run was started twice: {names}"
    assert sorted(names) == sorted(name for name, _ in serial.trainings)
    launched = sorted(name for name, *_ in made.fake_target.launches)
    assert launched == sorted(name for name, *_ in serial.fake_target.launches)
    assert made.containers_started == serial.containers_started
    made.close()


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
    ahead(made, plan(clauses(), made.policy))
    assert image.two_in_flight.wait(WAIT_S), "no two runs were ever in flight"
    image.release.set()
    made.close()  # waits for what was started ahead
    assert image.most == 2


def test_a_check_waiting_for_a_run_shares_the_one_under_way(tmp_path: Path) -> None:
    image = Gated()
    made = certification(tmp_path, image, slots=2)
    ahead(made, [TRAIN_DEFAULT, TRAIN_EMPTY_CHANNEL])
    deadline = time.monotonic() + WAIT_S
    while image.running == 0 and time.monotonic() < deadline:
        time.sleep(0.01)  # until the run ahead is under way
    got: list[TrainResult] = []
    asking = threading.Thread(target=lambda: got.append(made.train(TRAIN_EMPTY_CHANNEL)))
    asking.start()
    image.release.set()
    asking.join(WAIT_S)
    assert got
    assert got[0] is made.train(TRAIN_EMPTY_CHANNEL)
    assert [name for name, _ in made.trainings].count(TRAIN_EMPTY_CHANNEL.name) == 1
    made.close()


def test_the_graph_gives_the_verdicts_of_one_check_after_another(tmp_path: Path) -> None:
    serial = verdicts(certification(tmp_path / "serial"))
    made = certification(tmp_path / "graph")
    graph = Graph(made, clauses())
    assert {clause.id: graph.outcome(clause).verdict for clause in clauses()} == serial
    graph.close()
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
    graph = Graph(made, clauses())
    assert graph.outcome(REGISTRY["SRV-4"]).verdict == PASS
    image.served.set()
    assert graph.outcome(REGISTRY["TRN-2"]).verdict == PASS
    graph.close()
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


def test_a_measurements_requests_never_wait_for_another_checks_quiet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request waits first while another check measures in quiet, except inside a measurement whose clock runs
    before and between its requests (ENV-3's freeze and recovery): there the wait would count in its own time."""
    made = certification(tmp_path / "a")
    paused: list[str] = []
    monkeypatch.setattr(made, "pause_point", paused.append)
    ctx = CheckContext(made, "ENV-3")
    server = ctx.server()
    with ctx.measuring():
        server.request("GET", contract.PING_PATH)
    assert paused == []
    server.request("GET", contract.PING_PATH)
    assert paused == ["ENV-3"]


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
def test_the_graph_gives_the_verdicts_of_one_check_after_another_on_broken_images(
    tmp_path: Path, image: FakeImage
) -> None:
    serial_run = certification(tmp_path / "serial", image)
    serial = {clause.id: run_clause(serial_run, clause).reason for clause in clauses()}
    made = certification(tmp_path / "graph", image)
    graph = Graph(made, clauses())
    assert {clause.id: graph.outcome(clause).reason for clause in clauses()} == serial
    graph.close()
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
    graph = Graph(made, selected)
    assert graph.outcome(selected[4]).verdict == PASS  # while SRV-4 is held in the default server's lane
    srv4_held.set()
    assert [graph.outcome(c).verdict for c in selected[:4]] == [PASS] * 4
    # The check apart started once the lead's outcomes were in.
    assert order.index("SRV-11 started") > order.index("SRV-3 done")
    graph.close()
    made.close()


def test_a_check_on_the_second_server_uses_its_own_server_of_the_default_configuration(tmp_path: Path) -> None:
    made = certification(tmp_path)
    list(clauses())
    selected = [REGISTRY[c] for c in ("SRV-1", "SRV-2", "SRV-3", "SRV-4", "SRV-13")]
    assert SERVE_SECOND in plan(selected, made.policy)
    graph = Graph(made, selected)
    assert [graph.outcome(c).verdict for c in selected] == [PASS] * 5
    posted = {
        name: {len(body) for method, _, body, _ in server.requests if method == "POST"}
        for name, server in made.servers.items()
    }
    assert max(posted["default-2"]) > 100_000  # SRV-13's load went to the second server
    assert max(posted["default"]) < 100_000  # and none of it to the one SRV-4 used
    graph.close()
    made.close()


@dataclass
class SecondStartExits(GoodImage):
    """The second server of the default configuration exits (code 0) before its /ping answers 200, while the first
    is healthy (CI: MLflow's container, whose wrapper exits 0 when its server does, beside other certifications)."""

    def serve(self, spec: ServeSpec) -> FakeServer:
        if spec.name == SERVE_SECOND.name:
            return FakeServer(self, spec, ready=False, exited=True, exit_code=0, logs="Got sigterm signal, exiting.\n")
        return super().serve(spec)


def test_checks_on_a_second_server_that_never_became_healthy_run_on_the_default_server(tmp_path: Path) -> None:
    """SRV-2 passed on the default server: the replica checks run on it, saying why, rather than skip naming SRV-2,
    and SRV-11 stops a server of its own."""
    made = certification(tmp_path, SecondStartExits())
    list(clauses())
    selected = [REGISTRY[c] for c in ("SRV-1", "SRV-2", "SRV-3", "SRV-4", "SRV-5", "SRV-11", "SRV-13")]
    assert SERVE_SECOND in plan(selected, made.policy)
    graph = Graph(made, selected)
    outcomes = {c.id: graph.outcome(c) for c in selected}
    assert {i: o.verdict for i, o in outcomes.items()} == dict.fromkeys(outcomes, PASS), {
        i: o.reason for i, o in outcomes.items()
    }
    for clause_id in ("SRV-5", "SRV-13", "SRV-11"):
        assert any("default-2 never became healthy" in note for note in outcomes[clause_id].notes), clause_id
    assert "sigterm" in [name for name, *_ in made.fake_target.launches]
    graph.close()
    made.close()


def test_a_narrow_selection_starts_no_second_server_and_no_empty_model_server(tmp_path: Path) -> None:
    """`--clause SRV-13` (and what it needs): nothing else shares the default server, so SRV-13 loads that one, and
    SRV-12's server, not selected, is never started."""
    made = certification(tmp_path)
    selected = with_needs(["SRV-13"])
    assert [c.id for c in selected] == ["IMG-1", "TRN-1", "SRV-1", "SRV-2", "SRV-3", "SRV-13"]
    assert plan(selected, made.policy) == [TRAIN_DEFAULT, SERVE_DEFAULT, SERVE_DEFAULT, SERVE_DEFAULT, SERVE_DEFAULT]
    graph = Graph(made, selected)
    assert [graph.outcome(c).verdict for c in selected] == [PASS] * 6
    graph.close()
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
    ahead(made, [TRAIN_DEFAULT, SERVE_DEFAULT, SERVE_EMPTY_MODEL])
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
    """The run on the test-dir ends and the default server, which waited for its model, and the variant runs, only
    started ahead of need, are all ready: the default server, which the most work follows, takes the slot first."""
    made = certification(tmp_path, slots=1)
    started: list[str] = []
    train, serve = made.target.train, made.target.server

    def noted_train(spec: TrainSpec, **kwargs: Any) -> TrainResult:
        started.append(f"train {spec.name}")
        return train(spec, **kwargs)

    def noted_serve(spec: ServeSpec, **kwargs: Any) -> Server:
        started.append(f"serve {spec.name}")
        return serve(spec, **kwargs)

    made.target.train = noted_train  # type: ignore[method-assign]
    made.target.server = noted_serve  # type: ignore[method-assign]
    selected = with_needs(["TRN-2", "SRV-4"])
    graph = Graph(made, selected)
    assert [graph.outcome(clause).verdict for clause in selected] == [PASS] * len(selected)
    graph.close()
    made.close()
    assert started[:2] == [f"train {TRAIN_DEFAULT.name}", f"serve {SERVE_DEFAULT.name}"], started
    assert f"train {TRAIN_DEFAULTS_AND_EXTRA_KEYS.name}" in started


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


def test_a_check_comes_after_the_node_of_each_container_it_uses_a_shared_run_too(tmp_path: Path) -> None:
    """TRN-2, TRN-6, TRN-8 and TRN-9 use one shared run (conformance.sharing.shares): each check comes after that
    run's node, so none holds the training checks' turn while the run is still to start."""
    made = certification(tmp_path)
    selected = list(clauses())
    containers = {node.key for node in made.container_nodes(made.select(selected))}
    for clause in selected:
        missing = [key for key in uses(made, clause) if key not in containers]
        assert not missing, f"{clause.id} would not wait for {missing}"
    shared = "train defaults-and-extra-keys+isolated+stray-files+extra-config-files"  # in the order selected
    assert uses(made, REGISTRY["TRN-6"]) == ["train default", shared]
    assert uses(made, REGISTRY["TRN-2"]) == ["train default", shared]
    made.close()


NAMED_TIMEOUT = '[env]\ntimeout = "MODEL_SERVER_TIMEOUT"\n'


def named_timeout(tmp_path: Path, image: FakeImage | None = None) -> FakeCertification:
    """A certification whose policy names the timeout variable (the reference test-dirs do)."""
    test_dir = load(write_test_dir(tmp_path / "td", policy=NAMED_TIMEOUT))
    return FakeCertification(image or GoodImage(), test_dir, tmp_path / "stage", Options(max_examples=0, concurrency=2))


def test_the_server_of_a_check_that_waits_by_design_starts_beside_the_default_server(tmp_path: Path) -> None:
    """ENV-3 holds a request for T once its server is up, the longest path of a certification: when the policy
    names the timeout variable, its server starts once the training run is in, beside the default server, not
    after it; when the policy names none, the check reads the variable from the default server and starts it."""
    made = named_timeout(tmp_path / "named")
    list(clauses())
    nodes = {node.key: node for node in made.container_nodes(made.select([REGISTRY["ENV-3"]]))}
    assert nodes["serve env-timeout"].after == ("train default",)
    assert nodes["serve default"].after == ("train default",)
    assert "serve env-timeout" in uses(made, REGISTRY["ENV-3"])
    made.close()
    unnamed = certification(tmp_path / "unnamed")
    keys = [node.key for node in unnamed.container_nodes(unnamed.select([REGISTRY["ENV-3"]]))]
    assert "serve env-timeout" not in keys, keys
    unnamed.close()


def test_a_server_started_beside_the_default_server_does_not_wait_for_its_health(tmp_path: Path) -> None:
    """Started beside the default server, ENV-3's server is started whatever the default's health (a variant after
    it is not started when the default fails SRV-2); the check still skips naming SRV-2, as before."""
    made = named_timeout(tmp_path, NeverHealthy())
    list(clauses())
    graph = Graph(made, [REGISTRY["ENV-3"], REGISTRY["SRV-12"]])
    outcome = graph.outcome(REGISTRY["ENV-3"])
    assert outcome.verdict == "skip", outcome.reason
    assert outcome.depends_on == "SRV-2", outcome.reason
    assert "env-timeout" in made.servers, "started beside the default server"
    assert "empty-model" not in made.servers, "a variant after the default server waits for its health"
    graph.close()
    made.close()


class NeverHealthy(GoodImage):
    """The default server never answers /ping 200 (SRV-2 fails); ENV-3's server would, beside it."""

    def serve(self, spec: ServeSpec) -> FakeServer:
        if spec.name == SERVE_DEFAULT.name:
            return FakeServer(self, spec, ready=False, answered=False, exited=True, exit_code=1, logs="no model\n")
        return super().serve(spec)


def stop_order(made: FakeCertification, selected: list[Clause]) -> tuple[Graph, list[str]]:
    """The graph of ``selected``, each check recording when it started and ended."""
    order: list[str] = []

    def recorded(clause: Clause) -> Clause:
        def function(ctx: CheckContext) -> Any:
            order.append(f"{clause.id} started")
            found = list(clause.run(ctx))
            order.append(f"{clause.id} done")
            return found

        return dataclasses.replace(clause, function=function)

    return Graph(made, [recorded(c) for c in selected]), order


def test_the_stop_takes_the_second_server_once_the_checks_on_it_are_done(tmp_path: Path) -> None:
    """SRV-11 stops a server of the default configuration: given a second one (default-2), that one once every check
    on it is done, rather than a container of its own: one start fewer."""
    made = certification(tmp_path, slots=2)
    list(clauses())
    selected = [REGISTRY[c] for c in ("SRV-1", "SRV-2", "SRV-3", "SRV-4", "SRV-9", "SRV-11", "SRV-13", "SRV-15")]
    graph, order = stop_order(made, selected)
    assert made.second_server
    assert [graph.outcome(c).verdict for c in selected] == [PASS] * len(selected)
    launched = [name for name, *_ in made.fake_target.launches]
    assert "sigterm" not in launched, launched
    assert launched.count("default-2") == 1, launched
    for replica in ("SRV-9", "SRV-13", "SRV-15"):
        assert order.index(f"{replica} done") < order.index("SRV-11 started"), order
    graph.close()
    made.close()


def test_a_stop_that_fails_on_the_second_server_is_timed_again_on_a_server_of_its_own(tmp_path: Path) -> None:
    """The checks before it may have left the second server so: a failed stop there is timed again on a fresh server
    of its own before the clause fails, so that the failure is SRV-11's own."""
    from .fakeimages import IgnoresSigterm

    made = certification(tmp_path, IgnoresSigterm(), slots=2)
    list(clauses())
    selected = [REGISTRY[c] for c in ("SRV-1", "SRV-2", "SRV-3", "SRV-4", "SRV-11", "SRV-13")]
    graph, _ = stop_order(made, selected)
    outcome = graph.outcome(REGISTRY["SRV-11"])
    assert outcome.verdict == "fail", outcome.reason
    assert any("timed again on a server of its own" in note for note in outcome.notes), outcome.notes
    launched = [name for name, *_ in made.fake_target.launches]
    assert "sigterm" in launched, launched
    graph.close()
    made.close()


def test_a_narrow_stop_has_a_server_of_its_own(tmp_path: Path) -> None:
    made = certification(tmp_path, slots=2)
    list(clauses())
    graph, _ = stop_order(made, [REGISTRY["SRV-11"]])
    assert graph.outcome(REGISTRY["SRV-11"]).verdict == PASS
    launched = [name for name, *_ in made.fake_target.launches]
    assert "sigterm" in launched, launched
    assert "default-2" not in launched, launched
    graph.close()
    made.close()
