"""The serving clauses on JSON and JSON Lines images (fakes): records counted by the policy's media types."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance.context import Options
from conformance.failures import HarnessError
from conformance.runner import FAIL, PASS
from conformance.testdir import load

from .checkfakes import JSON_POLICY, ROWS, json_test_dir, jsonl_test_dir
from .fakeimages import JsonApi, JsonLinesService
from .fakeserver import FakeServer, Response
from .faketarget import certify, rendered


@pytest.mark.parametrize("clause", ["SRV-4", "SRV-5", "SRV-7", "SRV-8", "SRV-9", "SRV-10", "SRV-13", "SRV-15"])
def test_a_correct_json_api_passes(clause: str, tmp_path: Path) -> None:
    outcome, _ = certify(JsonApi(), clause, tmp_path, test_dir=load(json_test_dir(tmp_path)), options=Options(10))
    assert outcome.verdict == PASS, outcome.failure.render() if outcome.failure else outcome.reason


@pytest.mark.parametrize("clause", ["SRV-4", "SRV-5", "SRV-7", "SRV-8", "SRV-9", "SRV-13"])
def test_a_correct_json_lines_service_passes(clause: str, tmp_path: Path) -> None:
    test_dir = load(jsonl_test_dir(tmp_path))
    outcome, _ = certify(JsonLinesService(), clause, tmp_path, test_dir=test_dir, options=Options(10))
    assert outcome.verdict == PASS, outcome.failure.render() if outcome.failure else outcome.reason


def test_a_json_api_that_drops_one_instance_fails_srv4(tmp_path: Path) -> None:
    outcome, _ = certify(JsonApi(dropped=1), "SRV-4", tmp_path, test_dir=load(json_test_dir(tmp_path)))
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "The response does not have one record per input record (the test-dir's payload)" in text
    assert "Expected: 3 records (JSON in, counted as JSON out)" in text
    assert "Actual:   2 records" in text


def test_a_json_lines_service_that_loses_an_unterminated_line_fails_srv4(tmp_path: Path) -> None:
    test_dir = load(jsonl_test_dir(tmp_path))
    outcome, _ = certify(JsonLinesService(split_on_newline=True), "SRV-4", tmp_path, test_dir=test_dir)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "(no trailing newline)" in text
    assert "Expected: 3 records (JSON Lines in, counted as JSON Lines out)" in text
    assert "(the test-dir's payload)" not in text


def test_the_accept_header_is_sent_and_the_response_must_be_in_it(tmp_path: Path) -> None:
    @dataclass
    class AnswersCsv(JsonApi):
        def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
            answer = super().invoke(server, body, headers)
            return Response(answer.status, answer.body, "text/csv" if answer.status == 200 else answer.content_type)

    outcome, _ = certify(AnswersCsv(), "SRV-4", tmp_path, test_dir=load(json_test_dir(tmp_path)))
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "The response is not in the media type the Accept header asked for" in text
    assert "Accept: application/json" in text  # in the request shown as evidence
    assert "Expected: Content-Type application/json (the policy's accept)" in text


def test_a_payload_that_is_not_its_declared_media_type_is_a_test_dir_error(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match=r"content_type = 'application/json'.*not JSON"):
        load(json_test_dir(tmp_path, payload=b"5.1,3.5,1.4,0.2\n"))


def test_expected_output_is_counted_in_the_requests_records(tmp_path: Path) -> None:
    policy = JSON_POLICY + 'expected_output = "expected.jsonl"\n'
    root = json_test_dir(tmp_path, policy=policy)
    (root / "expected.jsonl").write_text('{"score": 1}\n{"score": 2}\n')
    with pytest.raises(HarnessError, match=re.escape("has 2 records but payload.json has 3 (JSON records)")):
        load(root)
    (root / "expected.jsonl").write_text("".join(json.dumps({"score": round(sum(r), 4)}) + "\n" for r in ROWS))
    test_dir = load(root)
    assert test_dir.policy.accept == "application/json"
    assert len(test_dir.records) == 3
    outcome, _ = certify(JsonApi(), "SRV-4", tmp_path, test_dir=test_dir)
    assert outcome.verdict == PASS, outcome.failure.render() if outcome.failure else outcome.reason
