"""From a check's violations to a verdict; and the HTTP exchange every serving violation quotes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.context import CheckContext
from conformance.failures import CheckSkipped, HarnessError, Violation
from conformance.http import Exchange
from conformance.registry import Clause, Level
from conformance.runner import ERROR, FAIL, PASS, SKIP, WARN, run_clause
from conformance.testdir import load

from .checkfakes import GoodImage, write_test_dir
from .faketarget import FakeCertification

BROKE = Violation("broke", expected="x", actual="y")


@pytest.fixture
def certification(tmp_path: Path) -> FakeCertification:
    policy = '[waive]\nSRV-6 = "known"\nENV-1 = "not allowed for a MUST"\n'
    return FakeCertification(GoodImage(), load(write_test_dir(tmp_path / "td", policy=policy)), tmp_path / "stage")


def clause(clause_id: str, level: Level, function: object) -> Clause:
    return Clause(clause_id, level, "title", function, "https://docs.aws.amazon.com/x")  # type: ignore[arg-type]


def test_verdicts(certification: FakeCertification) -> None:
    def failing(ctx: CheckContext) -> Iterator[Violation]:
        ctx.measure("seconds", 1.23456)
        ctx.note("noted")
        yield BROKE

    def skipping(ctx: CheckContext) -> Iterator[Violation]:
        raise CheckSkipped("no data")
        yield BROKE

    def passing(ctx: CheckContext) -> Iterator[Violation]:
        yield from ()

    run = lambda c: run_clause(certification, c)  # type: ignore[arg-type]  # noqa: E731
    assert run(clause("ENV-1", Level.MUST, passing)).verdict == PASS
    outcome = run(clause("ENV-1", Level.MUST, failing))
    assert (outcome.verdict, outcome.reason) == (FAIL, "ENV-1 [MUST] title")
    assert outcome.measurements == {"seconds": 1.2346}
    assert certification.measurements == {"seconds": 1.2346}
    assert outcome.notes == ["noted"]
    assert run(clause("SRV-6", Level.SHOULD, failing)).verdict == WARN
    assert run(clause("SRV-5", Level.SHOULD, failing)).verdict == FAIL
    assert run(clause("ENV-9", Level.INFO, failing)).reason == "informational"
    assert run(clause("ENV-5", Level.CONDITIONAL, failing)).verdict == FAIL
    skipped = run(clause("SRV-1", Level.MUST, skipping))
    assert (skipped.verdict, skipped.reason, skipped.failure) == (SKIP, "no data", None)


def test_a_harness_error_is_not_a_verdict(certification: FakeCertification) -> None:
    def unreachable(ctx: CheckContext) -> Iterator[Violation]:
        raise HarnessError("No Docker engine answers")
        yield BROKE

    with pytest.raises(HarnessError, match="No Docker engine answers"):
        run_clause(certification, clause("SRV-1", Level.MUST, unreachable))  # type: ignore[arg-type]


def test_a_crash_keeps_the_evidence_gathered_so_far(certification: FakeCertification) -> None:
    def crashes(ctx: CheckContext) -> Iterator[Violation]:
        ctx.server()
        raise ZeroDivisionError("division by zero")
        yield BROKE

    outcome = run_clause(certification, clause("SRV-4", Level.MUST, crashes))  # type: ignore[arg-type]
    assert outcome.verdict == ERROR
    assert outcome.failure is not None
    text = outcome.failure.render()
    assert "ZeroDivisionError: division by zero" in text
    assert "serving container 'default' logs" in text
    assert "docker run --rm -p 8080:8080 example.com/team/model:1.0 serve" in text


EXCHANGE = Exchange(
    "POST",
    "http://127.0.0.1:32768/invocations",
    {"Content-Type": "text/csv", "X-Amzn-SageMaker-Custom-Attributes": "c" * 100},
    b"1,2\n3,4\n",
    415,
    "Unsupported Media Type",
    {"content-type": "text/plain; charset=utf-8", "content-length": "11"},
    b"unsupported",
    0.0123,
)


def test_exchange_describes_itself() -> None:
    assert EXCHANGE.describe() == "415 Unsupported Media Type"
    assert EXCHANGE.media_type == "text/plain"
    request, response = EXCHANGE.evidence()
    assert request[0] == "Request"
    assert request[1].startswith("POST http://127.0.0.1:32768/invocations\nContent-Type: text/csv\n")
    assert "... (100 bytes in all)" in request[1]
    assert request[1].endswith("\n\n1,2\n3,4\n")
    assert response == (
        "Response",
        "415 Unsupported Media Type in 0.012 s\ncontent-type: text/plain; charset=utf-8\n"
        "content-length: 11\n\nunsupported",
    )


def test_no_response_is_described() -> None:
    refused = Exchange(
        "GET", "http://127.0.0.1:1/ping", {}, b"", None, "", {}, b"", 0.001, error="ConnectionError: refused"
    )
    assert refused.describe() == "no HTTP response (ConnectionError: refused)"
    assert [name for name, _ in refused.evidence()] == ["Request"]


def test_curl_replays_against_a_local_port(tmp_path: Path) -> None:
    assert EXCHANGE.curl(8080).startswith("curl -sS -i -X POST -H 'Content-Type: text/csv' ")
    assert EXCHANGE.curl(8080).endswith("--data-binary '1,2\n3,4\n' http://localhost:8080/invocations")
    body = tmp_path / "my payload.body"
    kept = Exchange(**{**EXCHANGE.__dict__, "payload_file": body})
    assert f"--data-binary '@{body}' http://localhost:8080/invocations" in kept.curl(8080)
