"""ENV-6 (conformance/checks/profiles.py) on fakes: two copies of an image in one network namespace."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import contract
from conformance.checks.profiles import listed_models, oom_kills, pipeline_specs, port_range, stray_listeners
from conformance.failures import HarnessError
from conformance.registry import REGISTRY, clauses
from conformance.runner import FAIL, PASS, SKIP, run_clause
from conformance.testdir import load as load_test_dir

from .checkfakes import GoodImage, image_info, serverless_test_dir, write_test_dir
from .fakeenv import SharesPorts
from .fakeimages import MultiModel, Serverless
from .faketarget import FakeCertification, certify, rendered


def test_port_range_is_inclusive() -> None:
    assert list(port_range("9091-9093")) == [9091, 9092, 9093]


def test_stray_listeners_spares_the_given_ports_and_dockers_dns() -> None:
    sockets = ["0.0.0.0:9090", "127.0.0.1:8000", "[::]:9195", "127.0.0.11:41234", "127.0.0.1:9200"]
    allowed = {9090, *port_range("9191-9199")}
    assert stray_listeners(sockets, allowed) == ["127.0.0.1:8000", "127.0.0.1:9200"]


def test_the_second_copy_joins_the_first_ones_network_namespace() -> None:
    first, second = pipeline_specs()
    assert first.publish == (second.port,)
    assert second.network_of == first.name
    assert first.env[contract.BIND_TO_PORT_ENV] != second.env[contract.BIND_TO_PORT_ENV]
    assert first.env[contract.SAFE_PORT_RANGE_ENV] != second.env[contract.SAFE_PORT_RANGE_ENV]


def test_env6_skips_an_image_without_the_label(tmp_path: Path) -> None:
    outcome, _ = certify(GoodImage(), "ENV-6", tmp_path)
    assert outcome.verdict == SKIP
    assert contract.BIND_TO_PORT_LABEL in outcome.reason


def test_env6_two_copies_on_their_own_ports_pass(tmp_path: Path) -> None:
    outcome, certification = certify(SharesPorts(), "ENV-6", tmp_path)
    assert outcome.verdict == PASS, outcome.failure.render() if outcome.failure else outcome.reason
    assert sorted(certification.servers) == ["bind-to-port", "default", "pipeline-second"]  # nothing unasked for


def test_env5_and_env6_share_the_first_copy(tmp_path: Path) -> None:
    """ENV-6's first copy is ENV-5's server (the same variables; it publishes the second's port too): two containers
    for the two clauses, not three."""
    test_dir = load_test_dir(write_test_dir(tmp_path / "test-dir"))
    certification = FakeCertification(SharesPorts(), test_dir, tmp_path / "stage")
    list(clauses())
    assert run_clause(certification, REGISTRY["ENV-5"]).verdict == PASS
    assert run_clause(certification, REGISTRY["ENV-6"]).verdict == PASS
    launched = [name for name, *_ in certification.fake_target.launches]
    assert sorted(launched) == ["bind-to-port", "default", "pipeline-second"], launched


def test_env6_a_fixed_second_port_fails_both_ways(tmp_path: Path) -> None:
    outcome, _ = certify(SharesPorts(fixed_port=8000), "ENV-6", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert text.startswith("ENV-6 [CONDITIONAL]")
    assert "A second copy beside the first did not answer on its port 9190" in text
    assert "A copy listens on a port outside its SAGEMAKER_BIND_TO_PORT and SAGEMAKER_SAFE_PORT_RANGE" in text
    assert "Actual:   127.0.0.1:8000" in text


def test_env6_a_fixed_port_inside_a_safe_range_passes(tmp_path: Path) -> None:
    outcome, _ = certify(SharesPorts(fixed_port=9095), "ENV-6", tmp_path)
    # The second copy still collides on 9095 (both copies take the same fixed port): only the listener is allowed.
    assert outcome.verdict == FAIL
    assert "A copy listens on a port outside" not in rendered(outcome)


def test_env7_skips_an_image_without_the_label(tmp_path: Path) -> None:
    outcome, _ = certify(GoodImage(), "ENV-7", tmp_path)
    assert outcome.verdict == SKIP
    assert contract.MULTI_MODEL_LABEL in outcome.reason


def test_env7_a_working_models_api_passes(tmp_path: Path) -> None:
    image = MultiModel()
    outcome, certification = certify(image, "ENV-7", tmp_path)
    assert outcome.verdict == PASS, outcome.failure.render() if outcome.failure else outcome.reason
    spec = certification.servers["multi-model"].spec
    assert spec.env == {contract.MULTI_MODEL_ENV: "true"}
    assert spec.model == "multi"
    assert list(image.models) == ["smc-model-b"]  # the other one was unloaded
    assert image.models["smc-model-b"] == f"{contract.MODELS_DIR}/b7d04e55/model"


def test_env7_a_duplicate_load_must_answer_409(tmp_path: Path) -> None:
    outcome, _ = certify(MultiModel(duplicate_status=200), "ENV-7", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "Loading 'smc-model-a' a second time did not answer 409" in text
    assert "Expected: 409 (the name is already loaded)" in text


def test_env7_an_unload_that_keeps_the_model_fails(tmp_path: Path) -> None:
    outcome, _ = certify(MultiModel(forgets=False), "ENV-7", tmp_path)
    text = rendered(outcome)
    assert "Invoking 'smc-model-a' after it was unloaded did not answer 404" in text
    assert "Unloading 'smc-model-a' a second time did not answer 404" in text


def test_env7_a_label_without_the_api_fails_at_the_first_request(tmp_path: Path) -> None:
    outcome, _ = certify(SharesPorts(info=image_info(labels={contract.MULTI_MODEL_LABEL: "true"})), "ENV-7", tmp_path)
    text = rendered(outcome)
    assert "Invoking a model that was never loaded did not answer 404" not in text  # the fake answers 404 to all
    assert "Loading /opt/ml/models/3f2a9c1e/model as 'smc-model-a' failed" in text


def test_listed_models_reads_the_documented_shape() -> None:
    body = b'{"models": [{"modelName": "a", "modelUrl": "/opt/ml/models/x/model"}]}'
    assert listed_models(body) == {"a": "/opt/ml/models/x/model"}
    assert listed_models(b'["a"]') is None
    assert listed_models(b"not json") is None


def test_env8_skips_without_a_serverless_policy(tmp_path: Path) -> None:
    outcome, _ = certify(Serverless(), "ENV-8", tmp_path)
    assert outcome.verdict == SKIP
    assert outcome.reason.startswith("the image does not claim the capability")


def test_env8_runs_with_the_declared_memory_and_one_cpu(tmp_path: Path) -> None:
    outcome, certification = certify(
        Serverless(), "ENV-8", tmp_path, test_dir=serverless_test_dir(tmp_path / "test-dir", 2048)
    )
    assert outcome.verdict == PASS, outcome.failure.render() if outcome.failure else outcome.reason
    server = certification.servers["serverless-2048"]
    assert (server.spec.memory_mb, server.spec.cpus) == (2048, 1.0)
    method, path, body, _ = server.requests[-1]
    assert (method, path) == ("POST", contract.INVOCATIONS_PATH)
    assert contract.SERVERLESS_PAYLOAD_BYTES - 100 < len(body) <= contract.SERVERLESS_PAYLOAD_BYTES


def test_env8_an_out_of_memory_kill_mid_request_fails(tmp_path: Path) -> None:
    outcome, _ = certify(Serverless(peak_mb=1500), "ENV-8", tmp_path, test_dir=serverless_test_dir(tmp_path / "t"))
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "The kernel killed a process of the server for memory under 1024 MB of memory, no swap, 1 CPU" in text
    assert "Actual:   oom_kill = 1" in text
    assert "failed under 1024 MB of memory" in text


def test_env8_an_out_of_memory_kill_at_start_fails(tmp_path: Path) -> None:
    outcome, _ = certify(Serverless(startup_mb=1100), "ENV-8", tmp_path, test_dir=serverless_test_dir(tmp_path / "t"))
    text = rendered(outcome)
    assert "The server did not start within 1024 MB of memory, no swap, 1 CPU: the kernel killed it for memory" in text
    assert "(State.OOMKilled = true)" in text


def test_oom_kills_reads_cgroup_v2_and_v1() -> None:
    assert oom_kills("low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n") == 1
    assert oom_kills("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n") == 3
    assert oom_kills("") is None


def test_the_serverless_policy_takes_only_documented_memory_sizes(tmp_path: Path) -> None:
    assert serverless_test_dir(tmp_path / "a", 3072).policy.serverless_memory_mb == 3072
    with pytest.raises(HarnessError, match="memory_mb = 1000 is not one of 1024, 2048"):
        serverless_test_dir(tmp_path / "b", 1000)
