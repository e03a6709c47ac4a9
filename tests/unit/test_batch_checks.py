"""SRV-16 to SRV-19 on fakes: batch transform end to end, content negotiation, the response size limit."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance import contract
from conformance.checks import batch
from conformance.runner import FAIL, PASS, SKIP
from conformance.testdir import load

from .checkfakes import GoodImage, json_test_dir, jsonl_test_dir, write_test_dir
from .fakeimages import CapsRecords, IgnoresAccept, JsonApi, JsonLinesService, LabelsHtml, PadsAnswers
from .fakeserver import FakeServer, Response
from .faketarget import certify, rendered


@dataclass
class SmallPayloads(GoodImage):
    """Announces 1 MB mini-batches and two concurrent transforms on /execution-parameters."""

    def execution_parameters(self, server: FakeServer) -> Response:
        document = {"MaxConcurrentTransforms": 2, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 1}
        return Response(200, json.dumps(document).encode(), "application/json")


def test_a_capped_request_fails_srv16(tmp_path: Path) -> None:
    outcome, certification = certify(CapsRecords(), "SRV-16", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    records = batch.input_records([b"5.1,3.5,1.4,0.2"], 6 * contract.MEGABYTE)
    full = 6 * contract.MEGABYTE // 16
    assert records == 589_824  # one and a half 6 MB mini-batches of 16-byte lines
    assert "The assembled output does not have one record per input record" in text
    assert f"Expected: {records:,} records (2 mini-batch(es) of whole lines, assembled with Line)" in text
    assert f"mini-batch 1 of 2: {full:,} records in, 10,000 out" in text
    assert certification.servers["batch"].spec.env == contract.BATCH_ENV


@dataclass
class AnswersLastRecordWrong(GoodImage):
    """Answers the last record of a large request wrong: one wrong answer far into the assembled output (the
    test-dir's expected output, written from the small payload, stays right)."""

    def predict(self, table: list[list[float]]) -> bytes:
        lines = super().predict(table).splitlines(keepends=True)
        return b"".join(lines[:-1]) + b"-1.0000\n" if len(lines) > 1000 else b"".join(lines)


def test_a_wrong_answer_deep_in_the_output_fails_srv16_naming_record_and_mini_batch(tmp_path: Path) -> None:
    outcome, _ = certify(AnswersLastRecordWrong(), "SRV-16", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    full = 6 * contract.MEGABYTE // 16
    assert "The assembled output's records are not the input records' answers, in order" in text
    assert f"Actual:   record {full:,}: '-1.0000' (in mini-batch 1 of 2)" in text
    assert f"Expected: record {full:,}: '19.1000' (test-dir record 3's answer)" in text


def test_srv16_packs_mini_batches_by_execution_parameters_and_keeps_their_order(tmp_path: Path) -> None:
    outcome, certification = certify(SmallPayloads(), "SRV-16", tmp_path)
    assert outcome.verdict == PASS, rendered(outcome)
    bodies = [r[2] for r in certification.servers["batch"].requests if r[1] == contract.INVOCATIONS_PATH]
    big = [b for b in bodies if b.count(b"\n") > 1000]
    assert big
    assert all(len(b) <= contract.MEGABYTE for b in big)
    assert any("MaxPayloadInMB 1" in note for note in outcome.notes)
    singles = [r for r in certification.servers["batch-single-record"].requests if r[1] == contract.INVOCATIONS_PATH]
    assert len(singles) == batch.SINGLE_RECORD_SAMPLES
    assert all(r[2].count(b"\n") == 1 for r in singles)


def test_the_input_holds_20000_records_or_more_to_fill_one_and_a_half_mini_batches() -> None:
    assert batch.input_records([b"x" * 99], 1000) == 20_000
    assert batch.input_records([b"x" * 9, b"y" * 19], 1_000_000) == 100_000  # 15 bytes a record on average


def test_mini_batches_are_whole_lines_up_to_the_limit() -> None:
    records = [b"x" * 9] * 25  # 10 bytes with the newline
    assert batch.mini_batches(records, 100) == [range(0, 10), range(10, 20), range(20, 25)]
    assert batch.mini_batches([b"y" * 500], 100) == [range(0, 1)]  # a record larger than the limit goes alone
    assert batch.assemble_with_line([b"a\nb", b"c\n", b""]) == b"a\nb\nc\n"


def test_srv16_skips_a_json_image_and_runs_on_json_lines(tmp_path: Path) -> None:
    outcome, _ = certify(JsonApi(), "SRV-16", tmp_path, test_dir=load(json_test_dir(tmp_path / "json")))
    assert outcome.verdict == SKIP
    assert "SplitType=Line" in outcome.reason
    outcome, _ = certify(JsonLinesService(), "SRV-16", tmp_path, test_dir=load(jsonl_test_dir(tmp_path / "jsonl")))
    assert outcome.verdict == PASS, rendered(outcome)


def test_a_csv_body_labelled_html_fails_srv17(tmp_path: Path) -> None:
    outcome, certification = certify(LabelsHtml(), "SRV-17", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "The response is labelled with another media type than the one asked for (Accept: text/csv)" in text
    assert "(no Accept header)" in text
    assert "Expected: Content-Type text/csv (the policy's content_type)" in text
    # SRV-17 runs on the default configuration's second server (Clause.replica).
    sent = [r[3] for r in certification.servers["default-2"].requests if r[1] == contract.INVOCATIONS_PATH]
    assert {s.get("Accept") for s in sent} == {"text/csv", "*/*", None}


@pytest.mark.parametrize("clause", ["SRV-17", "SRV-18", "SRV-19"])
def test_json_and_json_lines_images_that_negotiate_pass(clause: str, tmp_path: Path) -> None:
    @dataclass
    class Negotiates(JsonApi):
        def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
            if headers.get("accept", "application/json") not in ("application/json", "*/*"):
                return Response(406, b"{}", "application/json")
            return super().invoke(server, body, headers)

    outcome, _ = certify(Negotiates(), clause, tmp_path, test_dir=load(json_test_dir(tmp_path)))
    assert outcome.verdict == PASS, rendered(outcome)


def test_an_ignored_accept_fails_srv18_unless_the_policy_declares_the_fallback(tmp_path: Path) -> None:
    outcome, _ = certify(IgnoresAccept(), "SRV-18", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "An Accept the image cannot produce was not refused" in text
    assert "Actual:   200 OK with Content-Type text/csv" in text
    assert "accept_fallback" in text
    root = write_test_dir(tmp_path / "fallback", policy="accept_fallback = true\n")
    outcome, _ = certify(IgnoresAccept(), "SRV-18", tmp_path, test_dir=load(root))
    assert outcome.verdict == PASS, rendered(outcome)


def test_srv18_takes_another_4xx_with_a_note(tmp_path: Path) -> None:
    @dataclass
    class Answers415(GoodImage):
        def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
            answer = super().invoke(server, body, headers)
            return Response(415, answer.body, "text/plain") if answer.status == 406 else answer

    outcome, _ = certify(Answers415(), "SRV-18", tmp_path)
    assert outcome.verdict == PASS
    assert any("406 Not Acceptable is preferred" in note for note in outcome.notes)


def test_a_padded_response_fails_srv19_with_its_size(tmp_path: Path) -> None:
    outcome, _ = certify(PadsAnswers(), "SRV-19", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "The response to the largest valid payload is larger than InvokeEndpoint can return" in text
    assert "Expected: at most 6,291,456 bytes" in text
    assert outcome.measurements["largest_response_bytes"] > contract.MAX_RESPONSE_BYTES
    for clause in ("SRV-4", "SRV-16"):
        assert certify(PadsAnswers(), clause, tmp_path / clause)[0].verdict == PASS


def test_srv16_leaves_a_broken_round_trip_to_srv4(tmp_path: Path) -> None:
    @dataclass
    class HeaderRowInOutput(GoodImage):
        def predict(self, table: list[list[float]]) -> bytes:
            return b"prediction\n" + super().predict(table)

    outcome, _ = certify(HeaderRowInOutput(), "SRV-16", tmp_path)
    assert outcome.verdict == SKIP
    assert outcome.reason.startswith("depends on SRV-4")


@pytest.mark.parametrize(
    ("document", "source"),
    [
        (b'{"MaxConcurrentTransforms": 0, "BatchStrategy": "ALL", "MaxPayloadInMB": 200}', "/execution-parameters"),
        (b"MaxPayloadInMB=6", "not a JSON object"),
    ],
)
def test_srv16_leaves_invalid_execution_parameters_to_env4(document: bytes, source: str, tmp_path: Path) -> None:
    @dataclass
    class Announces(GoodImage):
        def execution_parameters(self, server: FakeServer) -> Response:
            return Response(200, document, "application/json")

    outcome, _ = certify(Announces(), "SRV-16", tmp_path)
    assert outcome.verdict == PASS, rendered(outcome)
    assert any("MaxPayloadInMB 6, MaxConcurrentTransforms 1" in n and source in n for n in outcome.notes)
