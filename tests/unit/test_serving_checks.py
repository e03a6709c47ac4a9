"""SRV clauses on scripted fake images: each broken image breaks one behaviour, and the test asserts the
verdict and the violation text, as a user would read it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance import contract
from conformance.checks import health
from conformance.context import Options, ServeSpec
from conformance.runner import FAIL, PASS, SKIP
from conformance.testdir import load as load_test_dir

from .checkfakes import GoodImage, write_test_dir
from .fakeimages import (
    AnswersUnsupported,
    ChokesOnCustomAttributes,
    CrashesOnBadInput,
    DiesOnBadInput,
    DropsLastRecord,
    HealthyWithoutModel,
    IgnoresSigterm,
    LoopbackOnly,
    NeedsEgress,
    Nondeterministic,
    OneMegabyteLimit,
    PingBlockedByInvocations,
    SlowPing,
    StrictMediaType,
    WritesIntoModelDir,
)
from .fakeserver import FakeServer, Response
from .faketarget import certify, rendered

# --- SRV ----------------------------------------------------------------------------------------------------------


def test_srv1_server_bound_to_loopback(tmp_path: Path) -> None:
    outcome, _ = certify(LoopbackOnly(), "SRV-1", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "Nothing answered HTTP on port 8080 from outside the container" in text
    assert "127.0.0.1:8080" in text


def test_srv2_slow_ping(tmp_path: Path) -> None:
    outcome, _ = certify(SlowPing(), "SRV-2", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "Ping 1 of 20 after start-up failed the health check" in text
    assert "Actual:   200 OK in 2.40 s" in text


@dataclass
class NeverReady(GoodImage):
    def serve(self, spec: ServeSpec) -> FakeServer:
        return FakeServer(self, spec, ready=False, answered=True)


def test_srv2_never_ready(tmp_path: Path) -> None:
    outcome, _ = certify(NeverReady(), "SRV-2", tmp_path)
    assert outcome.verdict == FAIL
    assert "The container did not pass the ping health check" in rendered(outcome)


def test_srv3_writes_into_the_read_only_model(tmp_path: Path) -> None:
    outcome, _ = certify(WritesIntoModelDir(), "SRV-3", tmp_path)
    assert outcome.verdict == FAIL
    assert "The server writes into /opt/ml/model, which SageMaker mounts read-only" in rendered(outcome)


def test_srv4_one_record_out_per_record_in(tmp_path: Path) -> None:
    outcome, _ = certify(DropsLastRecord(), "SRV-4", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "The response does not have one record per input record (the test-dir's payload)" in text
    assert "Expected: 3 records (CSV in, counted as CSV out)" in text
    assert "Actual:   1 records" in text
    # The test-dir's payload, without a trailing newline, with CRLF line ends; a single record is fine.
    assert "(3 violations)" in text.splitlines()[0]


def test_srv4_generated_payloads_find_and_shrink_a_record_loss(tmp_path: Path) -> None:
    outcome, _ = certify(
        DropsLastRecord(keep=3), "SRV-4", tmp_path, options=Options(max_examples=10, property_budget=600)
    )
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    # The test-dir's own payload has 3 records and passes; hypothesis shrinks the failure to 4 records.
    assert "(generated: 4 records" in text
    assert "Expected: 4 records" in text


@dataclass
class NoContentType(GoodImage):
    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        response = super().invoke(server, body, headers)
        response.content_type = None
        return response


def test_srv4_no_content_type(tmp_path: Path) -> None:
    outcome, _ = certify(NoContentType(), "SRV-4", tmp_path)
    assert outcome.verdict == FAIL
    assert "The response has no Content-Type (the test-dir's payload)" in rendered(outcome)


@dataclass
class WrongPredictions(GoodImage):
    def predict(self, table: list[list[float]]) -> bytes:
        return "".join(f"{row[0]:.4f}\n" for row in table).encode()


def test_srv4_expected_output_compared_in_order(tmp_path: Path) -> None:
    expected = b"10.2000\n14.7000\n19.1000\n"
    policy = 'expected_output = "expected_output.csv"\n'
    root = write_test_dir(tmp_path / "td", policy=policy, extra={"expected_output.csv": expected})
    test_dir = load_test_dir(root)
    good, _ = certify(GoodImage(), "SRV-4", tmp_path / "good", test_dir=test_dir)
    assert good.verdict == PASS, good.failure and good.failure.render()
    bad, _ = certify(WrongPredictions(), "SRV-4", tmp_path / "bad", test_dir=test_dir)
    assert bad.verdict == FAIL
    text = rendered(bad)
    assert "The response's records are not the expected ones, in order (the test-dir's payload)" in text
    assert "Expected: record 1: '10.2000'" in text
    assert "Actual:   record 1: '5.1000'" in text


def test_srv5_charset_parameter_rejected(tmp_path: Path) -> None:
    outcome, _ = certify(StrictMediaType(), "SRV-5", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "Content-Type 'text/csv; charset=utf-8' is not treated like 'text/csv'" in text
    assert "Actual:   415 Unsupported Media Type" in text


@pytest.mark.parametrize(("status", "actual"), [(200, "200 OK"), (500, "500 Internal Server Error")])
def test_srv6_unsupported_content_type_not_rejected(status: int, actual: str, tmp_path: Path) -> None:
    outcome, _ = certify(AnswersUnsupported(status=status), "SRV-6", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert text.startswith("SRV-6 [SHOULD] An unsupported Content-Type gets a 4xx (415 preferred) (2 violations)")
    for media_type in contract.UNSUPPORTED_CONTENT_TYPES:
        assert f"Content-Type '{media_type}' was not rejected as a client error" in text
    assert "Expected: a 4xx, preferably 415 Unsupported Media Type" in text
    assert f"Actual:   {actual}" in text
    assert "curl -sS -i -X POST -H 'Content-Type: image/png' --data-binary @" in text


def test_srv6_400_passes_with_a_note(tmp_path: Path) -> None:
    outcome, _ = certify(AnswersUnsupported(status=400), "SRV-6", tmp_path)
    assert outcome.verdict == PASS
    assert outcome.notes == [
        f"{media_type}: 400 (415 is preferred)" for media_type in contract.UNSUPPORTED_CONTENT_TYPES
    ]


def test_srv7_malformed_payload_gets_a_5xx(tmp_path: Path) -> None:
    outcome, _ = certify(CrashesOnBadInput(), "SRV-7", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    for case in ("an empty body", "one field too many", "a non-numeric field", "one field too few"):
        assert f"A malformed payload ({case}) was not rejected as a client error" in text


@dataclass
class CrashesOnInvalidUtf8(GoodImage):
    """Rejects every malformed table but one: a body that is not UTF-8 raises UnicodeDecodeError, a 500."""

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return Response(500, b"UnicodeDecodeError", "text/html")
        return super().invoke(server, body, headers)


def test_srv7_generated_malformed_payloads(tmp_path: Path) -> None:
    good, _ = certify(GoodImage(), "SRV-7", tmp_path / "good", options=Options(max_examples=15))
    assert good.verdict == PASS
    fixed_cases_only, _ = certify(CrashesOnInvalidUtf8(), "SRV-7", tmp_path / "off", options=Options(max_examples=0))
    assert fixed_cases_only.verdict == PASS
    generated, _ = certify(CrashesOnInvalidUtf8(), "SRV-7", tmp_path / "on", options=Options(max_examples=25))
    assert generated.verdict == FAIL
    assert "A malformed payload (generated: invalid UTF-8 in record 1 of 1) was not rejected" in rendered(generated)


def test_srv8_container_dies_after_a_bad_request(tmp_path: Path) -> None:
    outcome, _ = certify(DiesOnBadInput(), "SRV-8", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert (
        "The container died after a bad request (Content-Type application/x-sagemaker-conformance-unsupported)" in text
    )
    assert "Actual:   exited with code 139" in text


@dataclass
class WedgedAfterBadInput(GoodImage):
    """Still running, but /ping fails after a bad request (a dead worker that never respawns)."""

    def ping(self, server: FakeServer) -> Response:
        bad = any(r[2] == b"" or r[3].get("Content-Type") != contract.CSV for r in server.requests if r[1] != "/ping")
        return Response(503 if bad else 200, b"", None)


def test_srv8_ping_unhealthy_after_a_bad_request(tmp_path: Path) -> None:
    outcome, _ = certify(WedgedAfterBadInput(), "SRV-8", tmp_path)
    assert outcome.verdict == FAIL
    assert "/ping is not healthy right after a bad request" in rendered(outcome)


def test_srv9_413_from_the_proxy(tmp_path: Path) -> None:
    outcome, _ = certify(OneMegabyteLimit(), "SRV-9", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "A valid payload InvokeEndpoint accepts was refused as too large (413)" in text
    assert "client_max_body_size" in text


def test_srv10_sagemaker_headers_change_the_response(tmp_path: Path) -> None:
    outcome, _ = certify(ChokesOnCustomAttributes(), "SRV-10", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "The headers SageMaker adds changed the response" in text
    assert "Actual:   400 Bad Request" in text


def test_srv11_sigterm_ignored(tmp_path: Path) -> None:
    outcome, certification = certify(IgnoresSigterm(), "SRV-11", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "The server ignored SIGTERM and was killed by SIGKILL after 30 s" in text
    # "Reproduce with" is the target's: the fake renders its own stop, the check writes no engine's command.
    assert "fake-engine stop --grace 30 sigterm" in text
    assert "docker stop" not in text
    assert outcome.measurements == {"serve_sigterm_seconds": 30.3, "srv11_load_average": 0.5}
    assert certification.current("sigterm") is None, "the stopped container must be discarded"


def test_srv12_ping_200_without_a_model(tmp_path: Path) -> None:
    outcome, _ = certify(HealthyWithoutModel(), "SRV-12", tmp_path)
    assert outcome.verdict == FAIL
    assert "/ping answered 200 with an empty /opt/ml/model" in rendered(outcome)


def test_srv13_ping_slow_under_load(tmp_path: Path) -> None:
    outcome, _ = certify(PingBlockedByInvocations(), "SRV-13", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert f"/ping failed while {health.CONCURRENCY} invocations" in text
    assert "Actual:   200 OK in 2.50 s" in text


def test_srv14_needs_egress_at_start_up(tmp_path: Path) -> None:
    outcome, _ = certify(NeedsEgress(), "SRV-14", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "The server did not become healthy without network egress" in text
    assert "huggingface.co" in text


def test_srv14_is_judged_on_a_remote_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The probe container asks from inside the network: where the engine runs does not matter.
    monkeypatch.setenv("DOCKER_HOST", "tcp://10.0.0.5:2376")
    outcome, _ = certify(GoodImage(), "SRV-14", tmp_path)
    assert outcome.verdict == PASS


def test_srv15_same_payload_twice_differs(tmp_path: Path) -> None:
    outcome, _ = certify(Nondeterministic(), "SRV-15", tmp_path)
    assert outcome.verdict == FAIL
    assert "Two identical invocations gave different answers" in rendered(outcome)


def test_serving_checks_skip_for_train_only_images(tmp_path: Path) -> None:
    root = write_test_dir(tmp_path / "td", policy='profile = "train-only"\n', payload=None)
    outcome, _ = certify(GoodImage(), "SRV-4", tmp_path, test_dir=load_test_dir(root))
    assert outcome.verdict == SKIP
    assert "train-only" in outcome.reason


def test_serving_checks_depend_on_srv2(tmp_path: Path) -> None:
    outcome, _ = certify(NeverReady(), "SRV-4", tmp_path)
    assert outcome.verdict == SKIP
    assert outcome.reason.startswith("depends on SRV-2")
