"""Waits that end early on evidence: SageMaker's per-request limits, the property budget, SRV-12's window, and
training runs that never end. The real checks and runner against scripted fake images (checkfakes)."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import requests

from conformance import contract
from conformance.failures import Violation
from conformance.limits import INVOCATION, LimitExceeded, Limits
from conformance.opt_ml import TrainSpec
from conformance.options import Options
from conformance.registry import REGISTRY, clauses
from conformance.runner import FAIL, PASS, SKIP, Outcome, run_clause
from conformance.servers import empty_model_window
from conformance.targets import ServeSpec
from conformance.targets.docker import training as docker_training
from conformance.targets.results import TrainResult
from conformance.testdir import load as load_test_dir
from conformance.trainings import run_budget

from .checkfakes import PROC_NET_TCP_ALL, FakeImage, GoodImage, image_info, trained, write_test_dir
from .fakeimages import PingThreeSeconds, SlowInvocations
from .fakeserver import FakeServer, Response
from .faketarget import FakeCertification, rendered


def certify_all(
    image: FakeImage, clause_ids: list[str], tmp_path: Path, options: Options | None = None
) -> tuple[dict[str, Outcome], FakeCertification]:
    """Run several checks in order on one certification, as a real run shares its containers."""
    test_dir = load_test_dir(write_test_dir(tmp_path / "test-dir"))
    certification = FakeCertification(image, test_dir, tmp_path / "stage", options)
    list(clauses())
    outcomes = {c: run_clause(certification, REGISTRY[c]) for c in clause_ids}
    return outcomes, certification


def invocations(certification: FakeCertification) -> int:
    return sum(
        1
        for server in certification.servers.values()
        for method, path, _, _ in server.requests
        if (method, path) == ("POST", contract.INVOCATIONS_PATH)
    )


# --- the invocation limit -----------------------------------------------------------------------------------------


def test_an_invocation_past_the_limit_fails_its_clause_once_and_the_others_skip(tmp_path: Path) -> None:
    outcomes, certification = certify_all(
        SlowInvocations(), ["SRV-2", "SRV-3", "SRV-4", "SRV-5", "SRV-11", "SRV-15"], tmp_path
    )
    assert outcomes["SRV-2"].verdict == PASS
    assert outcomes["SRV-3"].verdict == FAIL
    text = rendered(outcomes["SRV-3"])
    assert "An invocation took longer than SageMaker's 60 s limit" in text
    assert "after 61.0 s" in text
    for clause_id in ("SRV-4", "SRV-5", "SRV-15"):
        assert outcomes[clause_id].verdict == SKIP
        assert outcomes[clause_id].reason.startswith("depends on SRV-3, which failed here")
    assert outcomes["SRV-11"].verdict == PASS  # it never invokes
    assert invocations(certification) == 1  # the limit was waited out once


@dataclass
class SlowWithoutTrailingNewline(GoodImage):
    """Only a body without a trailing newline is slow: SRV-4 meets the limit in the middle of its variants."""

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        response = super().invoke(server, body, headers)
        return replace(response, elapsed=61.0) if body and not body.endswith(b"\n") else response


def test_the_check_that_meets_the_limit_stops_there_and_keeps_what_it_found(tmp_path: Path) -> None:
    outcomes, certification = certify_all(SlowWithoutTrailingNewline(), ["SRV-4", "SRV-15"], tmp_path)
    assert outcomes["SRV-4"].verdict == FAIL
    text = rendered(outcomes["SRV-4"])
    assert "An invocation took longer than SageMaker's 60 s limit" in text
    server = certification.servers["default"]
    posts = [body for method, _, body, _ in server.requests if method == "POST"]
    assert not posts[-1].endswith(b"\n")  # nothing was sent after the slow one
    assert outcomes["SRV-15"].verdict == SKIP
    assert outcomes["SRV-15"].reason.startswith("depends on SRV-4")


# --- the ping limit -----------------------------------------------------------------------------------------------


def test_a_slow_ping_fails_srv2_and_what_needs_a_healthy_server_skips(tmp_path: Path) -> None:
    outcomes, certification = certify_all(
        PingThreeSeconds(), ["SRV-1", "SRV-2", "SRV-3", "SRV-8", "SRV-12", "SRV-13", "ENV-1"], tmp_path
    )
    assert outcomes["SRV-2"].verdict == FAIL
    assert "Actual:   200 OK in 3.00 s" in rendered(outcomes["SRV-2"])
    for clause_id in ("SRV-8", "SRV-13", "ENV-1"):
        assert outcomes[clause_id].verdict == SKIP, clause_id
        assert outcomes[clause_id].reason.startswith("depends on SRV-2, which failed here")
    # What only needs an answer, or a server without a model, is still judged.
    for clause_id in ("SRV-1", "SRV-3", "SRV-12"):
        assert outcomes[clause_id].verdict == PASS, clause_id
    default = certification.servers["default"]
    pings = [path for _, path, _, _ in default.requests if path == contract.PING_PATH]
    # SRV-2 stopped at the first slow ping, and no check pinged again: the others are the certification's quick
    # health check before it shares the server with the next check.
    assert len(pings) == 1 + default.health_checks


# --- the property budget ------------------------------------------------------------------------------------------


@dataclass
class Sluggish(GoodImage):
    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        return replace(super().invoke(server, body, headers), elapsed=0.05)


def test_property_checks_stop_at_their_budget_and_say_how_many_examples_ran(tmp_path: Path) -> None:
    outcome, _ = certify_all(Sluggish(), ["SRV-7"], tmp_path, Options(max_examples=200, property_budget=0.3))
    result = outcome["SRV-7"]
    assert result.verdict == PASS
    ran = result.measurements["srv7_generated_examples"]
    assert 1 <= ran < 200
    assert any(f"{ran:g} of 200 generated payloads were sent" in note for note in result.notes)


def test_property_checks_run_every_example_within_the_budget(tmp_path: Path) -> None:
    outcome, _ = certify_all(GoodImage(), ["SRV-7"], tmp_path, Options(max_examples=5, property_budget=600))
    assert outcome["SRV-7"].measurements["srv7_generated_examples"] == 5
    assert outcome["SRV-7"].notes == []


# --- SRV-12's window ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cold_start", "budget", "window"), [(0.8, 60, 10), (4.0, 60, 20), (30.0, 60, 60), (3.0, 8, 8)]
)
def test_srv12_watches_five_cold_starts_at_least_10_s_within_the_budget(
    cold_start: float, budget: float, window: float
) -> None:
    assert empty_model_window(cold_start, budget) == window


@dataclass
class NeverHealthy(GoodImage):
    def serve(self, spec: ServeSpec) -> FakeServer:
        return FakeServer(self, spec, ready=False, answered=True)


def test_srv12_skips_naming_srv2_when_the_server_never_became_healthy_with_its_model(tmp_path: Path) -> None:
    outcomes, _ = certify_all(NeverHealthy(), ["SRV-2", "SRV-12"], tmp_path)
    assert outcomes["SRV-2"].verdict == FAIL
    assert outcomes["SRV-12"].verdict == SKIP
    assert outcomes["SRV-12"].reason.startswith("depends on SRV-2, which failed here")


# --- training runs that never end ---------------------------------------------------------------------------------

TRAINING_IDS = ["TRN-1", "TRN-2", "TRN-3", "TRN-4", "TRN-5", "TRN-6", "TRN-7", "TRN-8"]


@dataclass
class TrainsForever(GoodImage):
    outcome: dict[str, Any] | None = None

    def train(self, spec: TrainSpec, sigterm_after: float | None, input_dir: Path) -> TrainResult:
        return trained(spec.name, exit_code=None, model_files={}, seconds=600.0, **(self.outcome or {}))


def test_a_hung_training_run_fails_trn1_and_starts_no_other_run(tmp_path: Path) -> None:
    outcomes, certification = certify_all(TrainsForever(outcome={"timed_out": True}), TRAINING_IDS, tmp_path)
    assert outcomes["TRN-1"].verdict == FAIL
    assert "still running after 600 s" in rendered(outcomes["TRN-1"])
    for clause_id in TRAINING_IDS[1:]:
        assert outcomes[clause_id].verdict == SKIP, clause_id
        assert outcomes[clause_id].reason.startswith("depends on TRN-1, which failed here"), clause_id
    assert {name for name, _ in certification.trainings} == {"default"}  # no other run was started


def test_a_training_run_that_serves_is_reported_as_a_server(tmp_path: Path) -> None:
    outcomes, _ = certify_all(TrainsForever(outcome={"serving": "0.0.0.0:8080"}), ["TRN-1"], tmp_path)
    assert outcomes["TRN-1"].verdict == FAIL
    text = rendered(outcomes["TRN-1"])
    assert "was serving, not training" in text
    assert "listened on 0.0.0.0:8080" in text


def test_training_clauses_skip_naming_img1_when_the_entrypoint_never_passes_train_on(tmp_path: Path) -> None:
    image = TrainsForever(
        info=image_info(entrypoint=("/bin/sh", "-c", "exec /opt/program/serve")),
        executables=frozenset({"/bin/sh", "/opt/program/serve"}),
        outcome={"serving": "0.0.0.0:8080"},
    )
    outcomes, certification = certify_all(image, ["IMG-1", *TRAINING_IDS], tmp_path)
    assert outcomes["IMG-1"].verdict == FAIL
    for clause_id in TRAINING_IDS:
        assert outcomes[clause_id].verdict == SKIP, clause_id
        assert outcomes[clause_id].reason.startswith("depends on IMG-1, which failed here"), clause_id
        assert "shell-form ENTRYPOINT" in outcomes[clause_id].reason
    assert {name for name, _ in certification.trainings} == {"default"}  # no other run was started


# --- how a running training container is watched -----------------------------------------------------------------


def _tar(files: dict[str, bytes]) -> list[bytes]:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("model")
        info.type = tarfile.DIRTYPE
        archive.addfile(info)
        for name, data in files.items():
            member = tarfile.TarInfo(f"model/{name}")
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
    return [buffer.getvalue()]


class RunningContainer:
    """A training container that never exits, listening on 8080, with or without a model written."""

    def __init__(self, model: dict[str, bytes]) -> None:
        self.model = model
        self.killed = False

    def wait(self, timeout: float) -> dict[str, int]:
        raise requests.exceptions.ReadTimeout()

    def exec_run(self, command: list[str]) -> tuple[int, bytes]:
        return 0, PROC_NET_TCP_ALL.encode()

    def get_archive(self, path: str) -> tuple[list[bytes], dict[str, Any]]:
        return _tar(self.model), {}

    def kill(self) -> None:
        self.killed = True


@pytest.fixture
def quick_looks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(docker_training, "SERVER_AFTER_S", 0.05)
    monkeypatch.setattr(docker_training, "SERVER_LOOK_S", 0.01)


@pytest.mark.usefixtures("quick_looks")
def test_a_training_container_listening_on_8080_without_a_model_is_stopped_as_a_server() -> None:
    container = RunningContainer({})
    exit_code, timed_out, serving = docker_training.TrainingRun._await_exit(container, _now(), 5.0)
    assert (exit_code, timed_out, serving) == (None, False, "0.0.0.0:8080")
    assert container.killed


@pytest.mark.usefixtures("quick_looks")
def test_a_training_container_that_has_written_a_model_runs_to_the_timeout() -> None:
    container = RunningContainer({"model.pkl": b"x"})
    exit_code, timed_out, serving = docker_training.TrainingRun._await_exit(container, _now(), 0.2)
    assert (exit_code, timed_out, serving) == (None, True, None)
    assert container.killed


def _now() -> float:
    import time

    return time.monotonic()


@pytest.mark.parametrize(
    ("default", "budget"),
    [(None, 600.0), (trained(seconds=2.0), 60.0), (trained(seconds=30.0), 300.0), (trained(seconds=100.0), 600.0)],
)
def test_other_training_runs_get_ten_times_the_run_on_the_test_dir(default: TrainResult | None, budget: float) -> None:
    assert run_budget(600.0, default) == budget


def test_a_hung_run_on_the_test_dir_leaves_the_timeout_as_it_is() -> None:
    assert run_budget(600.0, trained(timed_out=True, seconds=600.0)) == 600.0


def test_a_wrapper_whose_probe_never_reaches_train_names_img1_too(tmp_path: Path) -> None:
    image = TrainsForever(
        info=image_info(entrypoint=("/bin/bash", "-c", "source /venv/bin/activate && exec /opt/program/serve", "--")),
        executables=frozenset({"/bin/bash", "/opt/program/serve"}),
        passes_arguments=False,
        outcome={"timed_out": True},
    )
    outcomes, _ = certify_all(image, ["TRN-1", "TRN-4"], tmp_path)
    for clause_id in ("TRN-1", "TRN-4"):
        assert outcomes[clause_id].verdict == SKIP, clause_id
        assert outcomes[clause_id].reason.startswith("depends on IMG-1, which failed here"), clause_id
        assert "does not pass `train` on" in outcomes[clause_id].reason


def test_pings_and_quick_invocations_are_no_breach() -> None:
    from conformance.http import Exchange
    from conformance.limits import Limits

    limits = Limits()
    url = "http://127.0.0.1:32768"
    limits.after("SRV-2", Exchange("GET", url + contract.PING_PATH, {}, b"", 200, "OK", {}, b"", 61.0))
    limits.after("SRV-2", Exchange("POST", url + contract.INVOCATIONS_PATH, {}, b"", 200, "OK", {}, b"", 59.9))
    assert limits.breaches == {}
    limits.before("SRV-3", "POST", contract.INVOCATIONS_PATH)  # nothing to refuse


def test_a_clause_judged_again_alone_forgets_the_breaches_its_first_try_saw() -> None:
    """A clause that failed on a shared server is judged again on its own (conformance.runner.run_clause): a breach
    its first try saw there must not carry into the second try, nor stay against it."""
    limits = Limits()
    violation = Violation("slow", expected="an answer within 60 s", actual="no answer after 60.0 s")
    limits.record("SRV-16", INVOCATION, violation)
    limits.record("SRV-4", "other", violation)
    with pytest.raises(LimitExceeded):
        limits.refuse("SRV-16", INVOCATION)
    limits.forget("SRV-16")
    limits.refuse("SRV-16", INVOCATION)  # nothing to stop at now
    assert limits.seen_by("SRV-16") == []
    assert limits.seen_by("SRV-4") == [violation]
