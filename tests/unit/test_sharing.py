"""The sharing and cascade rules of conformance.sharing, on the in-memory target (no Docker).

A certification starts each configuration once and shares it; a variant of the default server needs that server
healthy; a server an earlier check broke is replaced; training that never ended stops every later run; what depends
on a failed clause skips naming it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance import contract
from conformance.failures import DependencyFailed, HarnessError
from conformance.opt_ml import SHAREABLE, TRAIN_DEFAULT, TRAIN_ISOLATED, TrainSpec, combine
from conformance.registry import REGISTRY, clauses
from conformance.runner import FAIL, PASS, SKIP, run_clause
from conformance.servers import SERVE_DEFAULT, SERVE_EMPTY_MODEL, SERVE_ISOLATED, SERVE_SIGTERM, empty_model_window
from conformance.sharing import node_key
from conformance.targets import ServeSpec
from conformance.targets.results import TrainResult
from conformance.testdir import load

from .checkfakes import FakeImage, GoodImage, image_info, trained, write_test_dir
from .fakeimages import Trains
from .fakeserver import FakeServer, Response
from .faketarget import FakeCertification


def certification(tmp_path: Path, image: FakeImage | None = None) -> FakeCertification:
    return FakeCertification(image or GoodImage(), load(write_test_dir(tmp_path / "td")), tmp_path / "stage")


@dataclass
class NeverHealthy(GoodImage):
    """The default server answers, but never 200 on /ping."""

    def serve(self, spec: ServeSpec) -> FakeServer:
        if spec.name == SERVE_DEFAULT.name:
            return FakeServer(self, spec, ready=False, answered=True)
        return super().serve(spec)


@dataclass
class Hangs(GoodImage):
    """Training never ends: the harness stops it at its budget."""

    def train(self, spec: TrainSpec, sigterm_after: float | None, input_dir: Path) -> TrainResult:
        return trained(spec.name, exit_code=None, timed_out=True, model_files={}, seconds=600.0)


def test_a_configuration_is_started_once_and_shared(tmp_path: Path) -> None:
    made = certification(tmp_path)
    first = made.server(SERVE_DEFAULT)
    assert made.server(SERVE_DEFAULT) is first
    assert [name for name, *_ in made.fake_target.launches].count("default") == 1


def test_a_healthy_default_starts_the_empty_model_server_in_the_background(tmp_path: Path) -> None:
    made = certification(tmp_path)
    for node in made.container_nodes([TRAIN_DEFAULT, SERVE_DEFAULT, SERVE_EMPTY_MODEL]):
        made.scheduler.add(node)
    made.scheduler.start()
    made.scheduler.wait(node_key(SERVE_EMPTY_MODEL))
    default = made.server(SERVE_DEFAULT)
    assert default.readiness.seconds is not None
    launches = {name: (wait, model, budget) for name, wait, model, budget in made.fake_target.launches}
    wait, model, budget = launches[SERVE_EMPTY_MODEL.name]
    assert not wait, "watched in the background while the other checks use the default server"
    assert model is None, "an empty /opt/ml/model"
    assert budget == empty_model_window(default.readiness.seconds, made.options.startup_budget)
    assert launches[SERVE_DEFAULT.name][1] == made.model_source()
    made.close()


def test_a_server_nobody_asks_for_is_never_started(tmp_path: Path) -> None:
    made = certification(tmp_path)
    made.server(SERVE_DEFAULT)
    assert [name for name, *_ in made.fake_target.launches] == ["default"], "SRV-12's server only when planned"


def test_a_variant_needs_the_default_server_healthy(tmp_path: Path) -> None:
    made = certification(tmp_path, NeverHealthy())
    with pytest.raises(DependencyFailed) as raised:
        made.server(SERVE_ISOLATED)
    assert raised.value.clause_id == "SRV-2"
    assert [name for name, *_ in made.fake_target.launches] == ["default"], "no variant, no empty-model server"


def test_a_server_that_never_became_ready_is_kept_as_the_evidence(tmp_path: Path) -> None:
    made = certification(tmp_path, NeverHealthy())
    first = made.server(SERVE_DEFAULT)
    assert made.server(SERVE_DEFAULT) is first, "not restarted: SRV-2 judges that one"
    with pytest.raises(DependencyFailed, match="SRV-2"):
        made.ready_server(SERVE_DEFAULT)


def test_a_broken_server_is_replaced(tmp_path: Path) -> None:
    made = certification(tmp_path)
    made.server(SERVE_DEFAULT)
    first = made.servers["default"]
    first.alive = False  # an earlier check killed it
    second = made.server(SERVE_DEFAULT)
    assert second is not first
    assert second.running()
    assert [name for name, *_ in made.fake_target.launches].count("default") == 2


def test_an_unhealthy_server_is_replaced(tmp_path: Path) -> None:
    made = certification(tmp_path)
    made.server(SERVE_DEFAULT)
    first = made.servers["default"]

    @dataclass
    class Broken(GoodImage):
        def ping(self, server: FakeServer) -> Response:
            return Response(500) if server is first else super().ping(server)

    first.image = Broken()
    checked = first.health_checks
    second = made.server(SERVE_DEFAULT)
    assert first.health_checks == checked + 1, "one quick /ping before it is shared again"
    assert not first.alive, "the broken server was stopped"
    assert second is not first


def test_a_discarded_server_is_stopped_and_forgotten(tmp_path: Path) -> None:
    made = certification(tmp_path)
    server = made.server(SERVE_SIGTERM)
    made.discard(SERVE_SIGTERM)
    assert made.current(SERVE_SIGTERM.name) is None
    assert not server.running()


def test_a_neighbour_needs_its_container_running(tmp_path: Path) -> None:
    made = certification(tmp_path)
    with pytest.raises(HarnessError, match="needs 'first' running first"):
        made.server(ServeSpec("second", network_of="first"))


def test_after_a_hung_training_run_no_other_run_starts(tmp_path: Path) -> None:
    made = certification(tmp_path, Hangs())
    assert made.train(TRAIN_DEFAULT).hung
    with pytest.raises(DependencyFailed) as raised:
        made.train(TRAIN_ISOLATED)
    assert raised.value.clause_id == "TRN-1"
    assert [name for name, _ in made.trainings] == ["default"]


def test_a_hung_run_behind_a_shell_form_entrypoint_is_img1s(tmp_path: Path) -> None:
    image = Hangs(info=image_info(entrypoint=("/bin/sh", "-c", "python /opt/program/train.py")))
    made = certification(tmp_path, image)
    made.train(TRAIN_DEFAULT)
    with pytest.raises(DependencyFailed) as raised:
        made.train(TRAIN_ISOLATED)
    assert raised.value.clause_id == "IMG-1"


def test_serving_after_a_hung_training_run_depends_on_trn1(tmp_path: Path) -> None:
    made = certification(tmp_path, Hangs())
    with pytest.raises(DependencyFailed, match="TRN-1"):
        made.server(SERVE_DEFAULT)
    assert made.fake_target.launches == []


def test_training_runs_after_the_first_get_a_budget_from_it(tmp_path: Path) -> None:
    made = certification(tmp_path)
    made.train(TRAIN_DEFAULT)
    made.train(TRAIN_ISOLATED)
    # --train-timeout for the run on the test-dir; then 10 times as long as it took (2.5 s), at least 60 s.
    shared = combine(SHAREABLE).name  # the isolated run is shared with the other shareable conditions
    assert made.fake_target.timeouts == {"default": made.options.train_timeout, shared: 60.0}


def test_one_run_stands_for_the_shareable_conditions_while_it_trains(tmp_path: Path) -> None:
    made = certification(tmp_path)
    list(clauses())
    outcomes = {clause_id: run_clause(made, REGISTRY[clause_id]) for clause_id in ("TRN-2", "TRN-6", "TRN-8", "TRN-9")}
    assert {clause_id: outcome.verdict for clause_id, outcome in outcomes.items()} == dict.fromkeys(outcomes, PASS)
    assert [name for name, _ in made.trainings] == ["default", combine(SHAREABLE).name]
    assert all("combines this clause's condition" in " ".join(o.notes) for o in outcomes.values())


def test_a_shared_run_that_fails_is_split_so_each_clause_judges_its_own_condition(tmp_path: Path) -> None:
    made = certification(tmp_path, Trains(runs={"isolated": trained("isolated", exit_code=1)}))
    clause_ids = ("TRN-2", "TRN-6", "TRN-8", "TRN-9")
    list(clauses())
    verdicts = {clause_id: run_clause(made, REGISTRY[clause_id]).verdict for clause_id in clause_ids}
    assert verdicts == {"TRN-2": PASS, "TRN-6": FAIL, "TRN-8": PASS, "TRN-9": PASS}
    assert [name for name, _ in made.trainings] == [
        "default",
        combine(SHAREABLE).name,
        "defaults-and-extra-keys",
        "isolated",
        "stray-files",
        "extra-config-files",
    ]


def test_the_shared_run_sends_trn2s_hyperparameters_only(tmp_path: Path) -> None:
    """TRN-2's condition (only the keys tuning and framework estimators add, so every hyperparameter takes its
    default) is one of the shared run's: its hyperparameters.json holds those keys and none of the test-dir's."""
    made = certification(tmp_path)
    list(clauses())
    assert run_clause(made, REGISTRY["TRN-2"]).verdict == PASS
    shared = combine(SHAREABLE)
    assert shared.hyperparameters == contract.TUNING_HYPERPARAMETERS
    assert [name for name, _ in made.trainings] == ["default", shared.name]
    written = made.stage / f"train-{shared.name}" / "input" / "config" / contract.HYPERPARAMETERS_FILE
    assert json.loads(written.read_text()) == contract.TUNING_HYPERPARAMETERS


def test_what_needs_a_healthy_server_skips_naming_srv2(tmp_path: Path) -> None:
    made = certification(tmp_path, NeverHealthy())
    list(clauses())
    outcome = run_clause(made, REGISTRY["SRV-4"])
    assert outcome.verdict == SKIP
    assert outcome.reason.startswith("depends on SRV-2, which failed here")
    assert contract.PING_PATH in outcome.reason


def test_close_stops_the_servers_and_closes_the_target(tmp_path: Path) -> None:
    made = certification(tmp_path)
    server = made.server(SERVE_DEFAULT)
    made.close()
    assert not server.running()
    assert made.fake_target.closed


def test_a_hung_run_is_img1s_finding_for_the_check_that_used_it(tmp_path: Path) -> None:
    shell_form = Hangs(info=image_info(entrypoint=("/bin/sh", "-c", "python /opt/program/train.py")))
    made = certification(tmp_path, shell_form)
    dependency = made.entrypoint_dependency(made.train(TRAIN_DEFAULT))
    assert dependency is not None
    assert dependency.clause_id == "IMG-1"
    other = certification(tmp_path / "exec-form", Hangs())
    assert other.entrypoint_dependency(other.train(TRAIN_DEFAULT)) is None, "TRN-1 reports that run itself"
    assert made.entrypoint_dependency(trained()) is None


def test_only_srv2s_own_servers_are_asked_for_without_readiness() -> None:
    assert not FakeCertification.needs_healthy(SERVE_DEFAULT, ready=False)
    assert not FakeCertification.needs_healthy(SERVE_EMPTY_MODEL, ready=False)
    assert FakeCertification.needs_healthy(SERVE_ISOLATED, ready=False)
    assert FakeCertification.needs_healthy(SERVE_DEFAULT, ready=True)
