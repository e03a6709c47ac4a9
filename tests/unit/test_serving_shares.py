"""Serving configurations that share one server (conformance.servers.serving_shares): ENV-1's variables, ENV-5's port
and SRV-16's SingleRecord strategy are one container for a correct image; a clause that fails there is judged again
on servers of its own, so a failure is still its own configuration's."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance import contract
from conformance.checks.batch import SERVE_BATCH, SERVE_BATCH_SINGLE
from conformance.registry import REGISTRY, clauses
from conformance.runner import FAIL, PASS, SKIP, run_clause
from conformance.servers import SERVE_BIND_TO_PORT, SERVE_DEFAULT, combine_serving, serving_shares
from conformance.targets import ServeSpec
from conformance.testdir import load
from conformance.variables import planned_env_spec

from .checkfakes import FakeImage, GoodImage, write_test_dir
from .fakeenv import SharesPorts
from .fakeserver import FakeServer
from .faketarget import FakeCertification

SHARED = ("ENV-1", "ENV-5", "ENV-6", "SRV-16")
NAMED = '[env]\nworkers = "MODEL_SERVER_WORKERS"\ntimeout = "MODEL_SERVER_TIMEOUT"\n'
"""A policy that names both variables, so ENV-1's server is known before any server runs."""


def certification(tmp_path: Path, image: FakeImage) -> FakeCertification:
    test_dir = load(write_test_dir(tmp_path / "td", policy=NAMED))
    made = FakeCertification(image, test_dir, tmp_path / "stage")
    made.select(clauses())
    return made


def env(tmp_path: Path) -> ServeSpec:
    spec = planned_env_spec(load(write_test_dir(tmp_path / "policy", policy=NAMED)).policy)
    assert spec is not None
    return spec


def shared_name(made: FakeCertification) -> str:
    shared = made.share_of(SERVE_BIND_TO_PORT)
    assert shared is not None
    return shared.name


def launched(made: FakeCertification) -> list[str]:
    return [name for name, *_ in made.fake_target.launches]


def test_one_server_carries_every_shareable_configuration(tmp_path: Path) -> None:
    shared = combine_serving([SERVE_BIND_TO_PORT, env(tmp_path), SERVE_BATCH_SINGLE])
    assert shared.name == "bind-to-port+env+batch-single-record"
    assert shared.env == {**SERVE_BIND_TO_PORT.env, **env(tmp_path).env, **SERVE_BATCH_SINGLE.env}
    assert (shared.port, shared.publish) == (SERVE_BIND_TO_PORT.port, SERVE_BIND_TO_PORT.publish)


def test_configurations_that_set_a_variable_differently_share_nothing() -> None:
    multi = ServeSpec("multi", env=SERVE_BATCH.env, shareable=True)
    with pytest.raises(ValueError, match="differently"):
        combine_serving([multi, SERVE_BATCH_SINGLE])
    assert serving_shares([multi, SERVE_BATCH_SINGLE]) == []


def test_a_configuration_that_changes_more_than_variables_is_not_shared() -> None:
    limited = ServeSpec("limited", memory_mb=1024, shareable=True)
    with pytest.raises(ValueError, match="more than variables"):
        combine_serving([limited, SERVE_BATCH_SINGLE])


def test_a_correct_image_is_served_once_for_env1_env5_env6_and_single_record(tmp_path: Path) -> None:
    made = certification(tmp_path, SharesPorts())
    outcomes = {clause_id: run_clause(made, REGISTRY[clause_id]) for clause_id in SHARED}
    assert {clause_id: outcome.verdict for clause_id, outcome in outcomes.items()} == dict.fromkeys(SHARED, PASS)
    shared = shared_name(made)
    assert sorted(shared.split("+")) == ["batch-single-record", "bind-to-port", "env"]
    assert shared in launched(made)
    assert not {"env", "bind-to-port", "batch-single-record"} & set(launched(made)), launched(made)
    # ENV-6's second copy joins the shared server's network namespace.
    assert f"pipeline-second-beside-{shared}" in launched(made)
    assert all(f"judged on the server '{shared}'" in " ".join(o.notes) for o in outcomes.values())


def test_the_shared_server_is_a_node_every_clause_using_it_comes_after(tmp_path: Path) -> None:
    made = certification(tmp_path, SharesPorts())
    keys = [node.key for node in made.container_nodes(made.select(clauses()))]
    assert f"serve {shared_name(made)}" in keys
    assert not {"serve env", "serve bind-to-port", "serve batch-single-record"} & set(keys)


def test_an_image_that_does_not_claim_the_port_shares_the_others(tmp_path: Path) -> None:
    made = certification(tmp_path, GoodImage())
    assert run_clause(made, REGISTRY["ENV-5"]).verdict == SKIP
    assert run_clause(made, REGISTRY["ENV-1"]).verdict == PASS
    assert launched(made) == ["default", "batch-single-record+env"]


@dataclass
class IgnoresWorkersInBatch(SharesPorts):
    """Runs as many workers as CPUs whenever SAGEMAKER_BATCH is set, whatever MODEL_SERVER_WORKERS says."""

    def serve(self, spec: ServeSpec) -> FakeServer:
        if contract.BATCH_ENV_VARIABLE in spec.env:
            spec = ServeSpec(
                spec.name,
                env={**spec.env, contract.MODEL_SERVER_WORKERS_ENV: str(self.cpus)},
                port=spec.port,
                publish=spec.publish,
            )
        return super().serve(spec)


@dataclass
class IgnoresWorkers(SharesPorts):
    def serve(self, spec: ServeSpec) -> FakeServer:
        env = {k: v for k, v in spec.env.items() if k != contract.MODEL_SERVER_WORKERS_ENV}
        return super().serve(
            ServeSpec(spec.name, env=env, port=spec.port, publish=spec.publish, network_of=spec.network_of)
        )


def test_a_clause_that_fails_on_the_shared_server_only_passes_on_its_own(tmp_path: Path) -> None:
    made = certification(tmp_path, IgnoresWorkersInBatch())
    outcome = run_clause(made, REGISTRY["ENV-1"])
    assert outcome.verdict == PASS, outcome.reason
    assert launched(made)[-1] == "env"
    assert "came out fail" in outcome.notes[0]
    assert "judged again on servers of its own" in outcome.notes[0]


def test_a_clause_that_fails_alone_too_fails_with_its_own_servers_evidence(tmp_path: Path) -> None:
    made = certification(tmp_path, IgnoresWorkers())
    outcome = run_clause(made, REGISTRY["ENV-1"])
    assert outcome.verdict == FAIL
    assert launched(made)[-1] == "env"
    assert outcome.failure is not None
    sections = " ".join(section.title for section in outcome.failure.sections)
    assert "serving container 'env' logs" in sections
    assert shared_name(made) not in sections
    # The other clauses on the shared server pass there, with no second start.
    assert run_clause(made, REGISTRY["ENV-5"]).verdict == PASS
    assert launched(made).count(shared_name(made)) == 1


@dataclass
class FailsWithEveryVariable(SharesPorts):
    """Never answers /ping when the port is moved and batch transform's variables are set together."""

    def serve(self, spec: ServeSpec) -> FakeServer:
        if spec.port != contract.PORT and contract.BATCH_ENV_VARIABLE in spec.env:
            return FakeServer(self, spec, ready=False, answered=False)
        return super().serve(spec)


def test_a_shared_server_that_never_becomes_healthy_stands_for_nobody(tmp_path: Path) -> None:
    made = certification(tmp_path, FailsWithEveryVariable())
    verdicts = {clause_id: run_clause(made, REGISTRY[clause_id]).verdict for clause_id in SHARED}
    assert verdicts == dict.fromkeys(SHARED, PASS)
    assert {"env", "bind-to-port", "batch-single-record"} <= set(launched(made)), launched(made)


def test_the_default_server_is_never_shared(tmp_path: Path) -> None:
    made = certification(tmp_path, SharesPorts())
    assert made.share_of(SERVE_DEFAULT) is None
