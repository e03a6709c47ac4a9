"""Serving configurations that share one server (conformance.servers.serving_shares): ENV-5's and ENV-6's moved port
and SRV-16's SingleRecord strategy are one container for a correct image; a clause that fails there is judged again
on servers of its own, so a failure is still its own configuration's."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance import contract
from conformance.checks.batch import SERVE_BATCH, SERVE_BATCH_SINGLE
from conformance.registry import REGISTRY, clauses
from conformance.runner import FAIL, PASS, run_clause
from conformance.servers import (
    SERVE_BIND_TO_PORT,
    SERVE_DEFAULT,
    combine_serving,
    empty_model_window,
    serving_shares,
)
from conformance.targets import ServeSpec
from conformance.testdir import load
from conformance.variables import Variables, env_spec

from .checkfakes import FakeImage, GoodImage, write_test_dir
from .fakeenv import SharesPorts
from .fakeserver import FakeServer, Response
from .faketarget import FakeCertification

SHARED = ("ENV-5", "ENV-6", "SRV-16")
SHARE = "batch-single-record+bind-to-port"
"""The members in the order the registry's clauses plan them (SRV-16 comes before ENV-5)."""
NAMED = '[env]\nworkers = "MODEL_SERVER_WORKERS"\ntimeout = "MODEL_SERVER_TIMEOUT"\n'
"""The reference images' policy: both variables named (ENV-1's server is then known, and still not shared)."""


def certification(tmp_path: Path, image: FakeImage) -> FakeCertification:
    test_dir = load(write_test_dir(tmp_path / "td", policy=NAMED))
    made = FakeCertification(image, test_dir, tmp_path / "stage")
    made.select(clauses())
    return made


def launched(made: FakeCertification) -> list[str]:
    return [name for name, *_ in made.fake_target.launches]


def single_record(spec: ServeSpec) -> bool:
    return spec.env.get(contract.BATCH_STRATEGY_ENV) == contract.SINGLE_RECORD


def test_one_server_carries_every_shareable_configuration() -> None:
    shared = combine_serving([SERVE_BIND_TO_PORT, SERVE_BATCH_SINGLE])
    assert shared.name == "bind-to-port+batch-single-record"
    assert shared.env == {**SERVE_BIND_TO_PORT.env, **SERVE_BATCH_SINGLE.env}
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


def test_env1s_server_shares_nothing() -> None:
    """Batch transform's variables may change the workers and timeouts ENV-1 and ENV-3 judge: a share could hide a
    defect there, so their server stays their own."""
    spec = env_spec(Variables(contract.MODEL_SERVER_WORKERS_ENV, contract.MODEL_SERVER_TIMEOUT_ENV, ""))
    assert not spec.shareable


def test_a_correct_image_is_served_once_for_env5_env6_and_single_record(tmp_path: Path) -> None:
    made = certification(tmp_path, SharesPorts())
    outcomes = {clause_id: run_clause(made, REGISTRY[clause_id]) for clause_id in SHARED}
    assert {clause_id: outcome.verdict for clause_id, outcome in outcomes.items()} == dict.fromkeys(SHARED, PASS)
    assert SHARE in launched(made)
    assert not {"bind-to-port", "batch-single-record"} & set(launched(made)), launched(made)
    # ENV-6's second copy joins the shared server's network namespace.
    assert f"pipeline-second-beside-{SHARE}" in launched(made)
    assert all(f"judged on the server '{SHARE}'" in " ".join(o.notes) for o in outcomes.values())


def test_the_shared_server_is_a_node_every_clause_using_it_comes_after(tmp_path: Path) -> None:
    made = certification(tmp_path, SharesPorts())
    keys = [node.key for node in made.container_nodes(made.select(clauses()))]
    assert f"serve {SHARE}" in keys
    assert not {"serve bind-to-port", "serve batch-single-record"} & set(keys)
    assert "serve env" not in keys  # ENV-1 starts its own when it runs, as before


def test_an_image_that_does_not_claim_the_port_shares_nothing(tmp_path: Path) -> None:
    made = certification(tmp_path, GoodImage())
    assert made.share_of(SERVE_BATCH_SINGLE) is None
    assert "serve bind-to-port" not in [node.key for node in made.container_nodes(made.select(clauses()))]


@dataclass
class DoublesSingleRecords(SharesPorts):
    """Answers a SingleRecord request with its record twice; with ``moved_only``, only on a moved port."""

    moved_only: bool = False

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        answer = super().invoke(server, body, headers)
        moved = server.spec.port != contract.PORT
        if single_record(server.spec) and (moved or not self.moved_only) and answer.status == 200:
            return Response(200, answer.body * 2, answer.content_type)
        return answer


def test_a_clause_that_fails_on_the_shared_server_only_passes_on_its_own(tmp_path: Path) -> None:
    made = certification(tmp_path, DoublesSingleRecords(moved_only=True))
    outcome = run_clause(made, REGISTRY["SRV-16"])
    assert outcome.verdict == PASS, outcome.reason
    assert launched(made)[-1] == "batch-single-record"
    assert f"On the shared server '{SHARE}' this clause came out fail" in outcome.notes[0]


def test_a_clause_that_fails_alone_too_fails_with_its_own_servers_evidence(tmp_path: Path) -> None:
    made = certification(tmp_path, DoublesSingleRecords())
    outcome = run_clause(made, REGISTRY["SRV-16"])
    assert outcome.verdict == FAIL
    assert launched(made)[-1] == "batch-single-record"
    assert outcome.failure is not None
    sections = " ".join(section.title for section in outcome.failure.sections)
    assert "serving container 'batch-single-record' logs" in sections
    assert SHARE not in sections
    # The other clauses on the shared server pass there, with no second start.
    assert run_clause(made, REGISTRY["ENV-5"]).verdict == PASS
    assert launched(made).count(SHARE) == 1


@dataclass
class DropsAMultiRecord(SharesPorts):
    """Answers a MultiRecord mini-batch (not the test-dir's few records) with one record fewer: SRV-16's finding
    before it asks for the shared server."""

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        answer = super().invoke(server, body, headers)
        if server.spec.name == SERVE_BATCH.name and answer.status == 200 and body.count(b"\n") > 100:
            return Response(200, b"".join(answer.body.splitlines(keepends=True)[1:]), answer.content_type)
        return answer


def test_a_failure_found_before_the_shared_server_is_not_judged_again(tmp_path: Path) -> None:
    made = certification(tmp_path, DropsAMultiRecord())
    outcome = run_clause(made, REGISTRY["SRV-16"])
    assert outcome.verdict == FAIL
    assert "batch-single-record" not in launched(made), launched(made)
    assert not any("this clause came out" in note for note in outcome.notes)


@dataclass
class IgnoresAMovedPortInBatch(SharesPorts):
    """Never answers /ping when the port is moved and batch transform's variables are set together."""

    def serve(self, spec: ServeSpec) -> FakeServer:
        if spec.port != contract.PORT and contract.BATCH_ENV_VARIABLE in spec.env:
            return FakeServer(self, spec, ready=False, answered=False)
        return super().serve(spec)


def test_a_shared_server_that_never_becomes_healthy_stands_for_nobody_within_srv12s_window(tmp_path: Path) -> None:
    made = certification(tmp_path, IgnoresAMovedPortInBatch())
    verdicts = {clause_id: run_clause(made, REGISTRY[clause_id]).verdict for clause_id in SHARED}
    assert verdicts == dict.fromkeys(SHARED, PASS)
    assert {"bind-to-port", "batch-single-record"} <= set(launched(made)), launched(made)
    cold = made.default_server().readiness.seconds
    assert cold is not None
    (budget,) = [budget for name, _, _, budget in made.fake_target.launches if name == SHARE]
    assert budget == empty_model_window(cold, made.options.startup_budget) < made.options.startup_budget


def test_the_default_server_is_never_shared(tmp_path: Path) -> None:
    made = certification(tmp_path, SharesPorts())
    assert made.share_of(SERVE_DEFAULT) is None
