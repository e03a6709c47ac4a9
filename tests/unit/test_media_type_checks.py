"""The serving clauses on JSON and JSON Lines images (fakes): records counted by the policy's media types."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conformance.context import Options
from conformance.failures import HarnessError
from conformance.runner import FAIL, PASS
from conformance.testdir import load

from .checkfakes import FakeImage, FakeServer, Response, certify, rendered, write_test_dir

ROWS = [[5.1, 3.5, 1.4, 0.2], [6.2, 2.9, 4.3, 1.3], [7.7, 3.0, 6.1, 2.3]]
JSON_POLICY = 'content_type = "application/json"\naccept = "application/json"\npayload = "payload.json"\n'
JSONL_POLICY = 'content_type = "application/jsonlines"\npayload = "payload.jsonl"\n'


def json_test_dir(tmp_path: Path, policy: str = JSON_POLICY, payload: bytes | None = None) -> Path:
    body = payload if payload is not None else json.dumps({"instances": ROWS}).encode()  # one line, three records
    return write_test_dir(tmp_path / "td", policy=policy, payload=None, extra={"payload.json": body})


def jsonl_test_dir(tmp_path: Path) -> Path:
    body = "".join(json.dumps({"features": row}) + "\n" for row in ROWS).encode()
    return write_test_dir(tmp_path / "td", policy=JSONL_POLICY, payload=None, extra={"payload.jsonl": body})


def numbers(value: Any) -> list[float] | None:
    ok = isinstance(value, list) and len(value) == 4
    ok = ok and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value)
    return [float(v) for v in value] if ok else None


@dataclass
class JsonApi(FakeImage):
    """`{"instances": [[4 numbers], ...]}` in, `{"predictions": [{"score": ...}, ...]}` out."""

    dropped: int = 0

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        if headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return Response(415, b'{"error": "send application/json"}', "application/json")
        try:
            instances = json.loads(body.decode("utf-8"))["instances"]
            rows = [numbers(i) for i in instances]
        except (ValueError, KeyError, TypeError):
            return Response(400, b'{"error": "bad body"}', "application/json")
        if not rows or any(r is None for r in rows):
            return Response(400, b'{"error": "bad instance"}', "application/json")
        predictions = [{"score": round(sum(r or []), 4)} for r in rows]
        kept = predictions[: len(predictions) - self.dropped] if len(predictions) > 1 else predictions
        return Response(200, json.dumps({"predictions": kept}).encode(), "application/json")


@dataclass
class JsonLinesService(FakeImage):
    """One `{"features": [4 numbers]}` per line in, one `{"score": ...}` per line out."""

    split_on_newline: bool = False  # the twin's bug: a last line without a newline is lost

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        if headers.get("content-type", "").split(";")[0].strip() != "application/jsonlines":
            return Response(415, b"", "text/plain")
        try:
            text = body.decode("utf-8")
            lines = text.split("\n")[:-1] if self.split_on_newline else text.splitlines()
            rows = [numbers(json.loads(line)["features"]) for line in lines if line.strip()]
        except (ValueError, KeyError, TypeError):
            return Response(400, b"", "text/plain")
        if not rows or any(r is None for r in rows):
            return Response(400, b"", "text/plain")
        out = "".join(json.dumps({"score": round(sum(r or []), 4)}) + "\n" for r in rows)
        return Response(200, out.encode(), "application/jsonlines")


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
