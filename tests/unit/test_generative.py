"""Generative models on fake images: one JSON document per request (SRV-21), the document codec, the policy's
[document], [streaming] and [async] tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings

from conformance import codecs, streams
from conformance.codecs.document_codec import DocumentCodec, at_path
from conformance.failures import HarnessError
from conformance.options import Options
from conformance.registry import REGISTRY, clauses
from conformance.runner import FAIL, PASS, SKIP, Outcome, run_clause
from conformance.testdir import load as load_test_dir

from .checkfakes import GoodImage, write_test_dir
from .fakegenerative import (
    ASYNC_POLICY,
    DOCUMENT,
    DOCUMENT_POLICY,
    STREAM_POLICY,
    ClosesKeptAlive,
    TextGenerator,
    document_test_dir,
)
from .faketarget import FakeCertification, ScriptedHost, certify, rendered

PAYLOAD = json.dumps(DOCUMENT).encode()


# --- the document codec -------------------------------------------------------------------------------------------


def test_one_document_is_one_record_in_and_one_out() -> None:
    codec = DocumentCodec.fit(PAYLOAD, shape="inputs")
    assert codec.count(PAYLOAD) == 1
    assert codec.render(codec.split(PAYLOAD) or []) == b'{"inputs":"once upon","parameters":{"max_new_tokens":6}}'
    assert DocumentCodec.output_records(b'{"generated_text": " a time"}') == ['{"generated_text": " a time"}']
    assert DocumentCodec.output_records(b"[{") is None


def test_a_document_policy_picks_the_document_codec_where_the_json_codec_refuses() -> None:
    with pytest.raises(codecs.CodecError, match="neither an array of records"):
        codecs.for_request("application/json", PAYLOAD)
    assert isinstance(codecs.for_request("application/json", PAYLOAD, document="inputs"), DocumentCodec)
    assert codecs.for_response("application/json", document=True) is DocumentCodec
    assert codecs.for_response("text/csv", document=True) is codecs.CsvCodec


@pytest.mark.parametrize(
    ("payload", "shape", "problem"),
    [
        (b'{"prompt": "x"}', "inputs", "no 'inputs' member"),
        (b'{"inputs": 3}', "inputs", "not a non-empty string"),
        (b'{"messages": []}', "messages", "not a non-empty list"),
        (b'{"messages": [{"role": "user"}]}', "messages", 'string "content"'),
        (b'["x"]', "prompt", "not an object"),
    ],
)
def test_a_payload_of_another_shape_is_refused_saying_why(payload: bytes, shape: str, problem: str) -> None:
    with pytest.raises(codecs.CodecError, match=problem):
        DocumentCodec.fit(payload, shape=shape)


def test_sized_documents_lengthen_the_prompt_and_stay_under_the_size() -> None:
    codec = DocumentCodec.fit(PAYLOAD, shape="inputs")
    body = codec.sized(codec.split(PAYLOAD) or [], 100_000)
    assert 99_000 < len(body) <= 100_000
    document = json.loads(body)
    assert document["parameters"] == {"max_new_tokens": 6}
    assert document["inputs"].startswith("once upon once upon")
    chat = DocumentCodec.fit(b'{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}', shape="messages")
    assert json.loads(chat.sized([b""], 5000))["messages"][0]["content"].startswith("hi hi")


def test_shape_defects_name_what_is_wrong() -> None:
    codec = DocumentCodec.fit(PAYLOAD, shape="inputs")
    cases = codec.shape_defects()
    assert json.loads(cases["without its 'inputs' member"]) == {"parameters": {"max_new_tokens": 6}}
    assert json.loads(cases["parameters.max_new_tokens is a string"])["parameters"]["max_new_tokens"] == "not-a-number"
    assert json.loads(cases["parameters is a string"])["parameters"] == "not-an-object"
    assert not any(codec.is_request(body) for name, body in cases.items() if "parameters" not in name)
    assert codec.is_request(cases["parameters is a string"])  # the text is there: only a parameter is wrong


@settings(max_examples=60, deadline=None)
@given(DocumentCodec.fit(PAYLOAD, shape="inputs").corrupted_documents())
def test_corrupted_documents_differ_from_the_payload(example: codecs.Generated) -> None:
    assert json.loads(example.body) != DOCUMENT


@settings(max_examples=30, deadline=None)
@given(DocumentCodec.fit(PAYLOAD, shape="inputs").valid_payloads([PAYLOAD]))
def test_valid_payloads_are_the_same_document(example: codecs.Generated) -> None:
    assert json.loads(example.body) == DOCUMENT
    assert example.sources == (0,)


def test_at_path_reads_dotted_paths_with_list_indices() -> None:
    assert at_path([{"generated_text": "x"}], "0.generated_text") == "x"
    assert at_path({"a": 1}, "") == {"a": 1}
    with pytest.raises(KeyError):
        at_path({"a": 1}, "b")


# --- the policy ---------------------------------------------------------------------------------------------------


def test_the_genai_policy_tables_parse(tmp_path: Path) -> None:
    extra = (
        '\n[streaming]\naccept = "text/event-stream"\nbody = { stream = true }\nformat = "sse"\n'
        'text = "token.text"\ndeterministic = true\n\n[async]\ninvocation_timeout_s = 120\nmax_request_mb = 20\n'
    )
    policy = document_test_dir(tmp_path, extra).policy
    assert policy.document is not None
    assert policy.document.shape == "inputs"
    assert policy.document.answer_text == "generated_text"
    assert policy.streaming is not None
    assert policy.streaming.accept == "text/event-stream"
    assert policy.streaming.body == {"stream": True}
    assert policy.streaming.text == "token.text"
    assert policy.streaming.deterministic
    assert policy.asynchronous is not None
    assert policy.asynchronous.invocation_timeout_s == 120
    assert policy.asynchronous.max_request_mb == 20


def test_missing_tables_claim_nothing(tmp_path: Path) -> None:
    policy = load_test_dir(write_test_dir(tmp_path / "td")).policy
    assert (policy.document, policy.streaming, policy.asynchronous) == (None, None, None)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('\n[streaming]\nformat = "sse"\n', "must say how a call asks for a stream"),
        ('\n[streaming]\naccept = "text/event-stream"\nformat = "ndjson"\n', "format = 'ndjson' is not one of"),
        ("\n[async]\ninvocation_timeout_s = 4000\n", "outside 1..3600"),
        ('\n[async]\nmax_request_mb = "big"\n', "must be a number of MB"),
        ('\n[streaming]\naccept = "text/event-stream"\nchunk = 1\n', "unknown key(s) ['chunk'] in [streaming]"),
    ],
)
def test_bad_genai_tables_say_what_to_fix(extra: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        document_test_dir(tmp_path, extra)


def test_a_document_shape_must_be_known(tmp_path: Path) -> None:
    policy = DOCUMENT_POLICY.replace('shape = "inputs"', 'shape = "chat"')
    root = write_test_dir(tmp_path / "td", policy=policy, payload=None, extra={"payload.json": PAYLOAD})
    with pytest.raises(HarnessError, match="shape = 'chat' is not one of inputs, messages, prompt"):
        load_test_dir(root)


def test_a_payload_that_is_not_of_the_shape_is_a_harness_error(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match="not a 'inputs' document"):
        document_test_dir(tmp_path, document={"prompt": "once upon"})


# --- SRV-21 -------------------------------------------------------------------------------------------------------

OPTIONS = Options(max_examples=20)


def test_srv21_passes_a_text_generator_and_srv4_counts_one_document(tmp_path: Path) -> None:
    test_dir = document_test_dir(tmp_path)
    for clause in ("SRV-21", "SRV-4", "SRV-7"):
        outcome, _ = certify(TextGenerator(), clause, tmp_path / clause, test_dir=test_dir, options=OPTIONS)
        assert outcome.verdict == PASS, (clause, outcome.reason, outcome.failure and outcome.failure.render())


def test_srv21_fails_a_generator_that_500s_on_a_missing_member(tmp_path: Path) -> None:
    test_dir = document_test_dir(tmp_path)
    outcome, _ = certify(TextGenerator(crashes_on_shape=True), "SRV-21", tmp_path, test_dir=test_dir, options=OPTIONS)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "A corrupted document (without its 'inputs' member) was not refused as a client error" in text
    assert "500 Internal Server Error" in text
    # SRV-7's syntax errors still get a 400 from it: only SRV-21 names the defect.
    outcome, _ = certify(TextGenerator(crashes_on_shape=True), "SRV-7", tmp_path / "7", test_dir=test_dir)
    assert outcome.verdict == PASS


def test_srv21_skips_an_image_of_records(tmp_path: Path) -> None:
    outcome, _ = certify(GoodImage(), "SRV-21", tmp_path)
    assert outcome.verdict == SKIP
    assert "declares no [document]" in (outcome.reason or "")


# --- SRV-20 -------------------------------------------------------------------------------------------------------


def test_srv20_passes_a_server_that_keeps_its_connections(tmp_path: Path) -> None:
    outcome, certification = certify(GoodImage(), "SRV-20", tmp_path)
    assert outcome.verdict == PASS
    sent = [(method, path) for method, path, _, _ in certification.servers["default"].requests]
    assert sent == [("GET", "/ping")] * 3 + [("POST", "/invocations")] * 3


def test_srv20_names_a_close_the_answer_did_not_announce(tmp_path: Path) -> None:
    outcome, _ = certify(ClosesKeptAlive(), "SRV-20", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "The server closed a kept-alive connection without Connection: close (GET /ping)" in text
    assert "1. GET /ping on a new connection: 200 OK, no Connection header; the server closed the connection" in text
    assert "2. GET /ping on the same connection: no HTTP response (RemoteDisconnected" in text
    assert "curl -sv http://localhost:8080/ping http://localhost:8080/ping" in text


# --- SRV-22..SRV-24 -----------------------------------------------------------------------------------------------


def streaming(tmp_path: Path, image: TextGenerator, clause: str) -> Outcome:
    test_dir = document_test_dir(tmp_path, STREAM_POLICY)
    outcome, _ = certify(image, clause, tmp_path / clause, test_dir=test_dir, options=OPTIONS)
    return outcome


@pytest.mark.parametrize("clause", ["SRV-22", "SRV-23", "SRV-24"])
def test_a_streaming_text_generator_passes(clause: str, tmp_path: Path) -> None:
    outcome = streaming(tmp_path, TextGenerator(), clause)
    assert outcome.verdict == PASS, outcome.failure and outcome.failure.render()


@pytest.mark.parametrize("clause", ["SRV-22", "SRV-23", "SRV-24"])
def test_streaming_clauses_skip_an_image_that_does_not_claim_it(clause: str, tmp_path: Path) -> None:
    outcome, _ = certify(TextGenerator(), clause, tmp_path, test_dir=document_test_dir(tmp_path))
    assert outcome.verdict == SKIP
    assert "declares no [streaming]" in (outcome.reason or "")


def test_srv22_fails_a_stream_a_proxy_buffers(tmp_path: Path) -> None:
    outcome = streaming(tmp_path, TextGenerator(buffered=True), "SRV-22")
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "The streamed answer's first event came only with its last: something buffers the stream" in text
    assert "X-Accel-Buffering: no" in text
    assert "curl -sS -i --no-buffer" in text
    assert streaming(tmp_path / "b", TextGenerator(buffered=True), "SRV-23").verdict == PASS


def test_srv22_streams_again_in_quiet_before_blaming_a_fast_generator_on_a_busy_host(tmp_path: Path) -> None:
    """CI under load: a generator whose every token is instant had its whole answer delayed 0.3 s by the host, so
    its parts came together like a buffered stream's. Streamed again with the other checks paused, it streams."""
    image = TextGenerator(buffered=True)
    test_dir = document_test_dir(tmp_path, STREAM_POLICY)
    certification = FakeCertification(image, test_dir, tmp_path / "stage", OPTIONS)
    assert isinstance(certification.host, ScriptedHost)
    certification.host.on_quiet.append(lambda: setattr(image, "buffered", False))
    list(clauses())
    outcome = run_clause(certification, REGISTRY["SRV-22"])
    assert outcome.verdict == PASS, outcome.failure and outcome.failure.render()
    assert certification.host.quiets == [f"{certification.image.reference} SRV-22"]
    assert any("streamed again with the other checks paused" in note for note in outcome.notes)
    assert "srv22_load_average" in outcome.measurements


def test_srv22_fails_a_stream_sent_with_a_content_length(tmp_path: Path) -> None:
    outcome = streaming(tmp_path, TextGenerator(content_length=True), "SRV-22")
    assert outcome.verdict == FAIL
    assert "not sent with chunked transfer encoding" in rendered(outcome)


def test_srv22_notes_an_answer_too_short_to_judge(tmp_path: Path) -> None:
    outcome = streaming(tmp_path, TextGenerator(buffered=True, token_seconds=0.01), "SRV-22")
    assert outcome.verdict == PASS
    assert any("too short to tell streaming from buffering" in note for note in outcome.notes)


def test_srv23_fails_bare_tokens(tmp_path: Path) -> None:
    outcome = streaming(tmp_path, TextGenerator(bare_tokens=True), "SRV-23")
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "The streamed answer is not framed as Server-Sent Events" in text
    assert "the line ' a time there was a tree'" in text
    assert streaming(tmp_path / "b", TextGenerator(bare_tokens=True), "SRV-22").verdict == PASS


def test_srv24_fails_a_stream_that_validates_after_its_200(tmp_path: Path) -> None:
    outcome = streaming(tmp_path, TextGenerator(validates_in_stream=True), "SRV-24")
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "A failing streamed call (an empty body) did not report its error" in text
    assert "200 OK with 0 frame(s), none an error" in text
    assert streaming(tmp_path / "b", TextGenerator(validates_in_stream=True), "SRV-23").verdict == PASS


def test_sse_and_jsonlines_frames() -> None:
    framing = streams.read(
        b': keep-alive\n\nevent: error\ndata: {"error": "x"}\n\ndata: a\ndata: b\n\ndata: [DONE]\n\n', "sse"
    )
    assert [f.data for f in framing.frames] == ['{"error": "x"}', "a\nb", "[DONE]"]
    assert framing.frames[0].is_error
    assert [f.data for f in streams.text_frames(framing)] == ["a\nb"]
    assert framing.complete
    assert framing.stray is None
    lines = streams.read(b'{"token": {"text": " a"}}\n{"token": {"text": " b"}}\nnot json', "jsonlines")
    assert lines.stray == "not json"
    assert not lines.complete
    assert [streams.frame_text(f, "token.text") for f in lines.frames[:2]] == [" a", " b"]


# --- ENV-10, ENV-11, ENV-13 ---------------------------------------------------------------------------------------


def asynchronous(tmp_path: Path, image: TextGenerator, clause: str) -> Outcome:
    test_dir = document_test_dir(tmp_path, ASYNC_POLICY)
    outcome, _ = certify(image, clause, tmp_path / clause, test_dir=test_dir, options=OPTIONS)
    return outcome


@pytest.mark.parametrize("clause", ["ENV-10", "ENV-11", "ENV-12", "ENV-13"])
def test_an_asynchronous_text_generator_passes(clause: str, tmp_path: Path) -> None:
    outcome = asynchronous(tmp_path, TextGenerator(), clause)
    assert outcome.verdict == PASS, outcome.failure and outcome.failure.render()


@pytest.mark.parametrize("clause", ["ENV-10", "ENV-11", "ENV-12", "ENV-13"])
def test_asynchronous_clauses_skip_an_image_that_does_not_claim_it(clause: str, tmp_path: Path) -> None:
    outcome, _ = certify(TextGenerator(), clause, tmp_path, test_dir=document_test_dir(tmp_path))
    assert outcome.verdict == SKIP
    assert "declares no [async]" in (outcome.reason or "")


def test_env10_fails_a_chunked_whole_answer(tmp_path: Path) -> None:
    outcome = asynchronous(tmp_path, TextGenerator(chunked_answers=True), "ENV-10")
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "A whole answer is sent chunked, without Content-Length: asynchronous endpoints fail on it" in text
    assert "Actual:   Transfer-Encoding: chunked, Content-Length: none" in text


def test_env11_fails_headers_over_4096_bytes(tmp_path: Path) -> None:
    outcome = asynchronous(tmp_path, TextGenerator(header_bytes=5000), "ENV-11")
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "asynchronous endpoints refuse more than 4096" in text
    assert "X-Model-Table: 5,000 bytes" in text


def test_env13_fails_a_6_mb_body_limit_and_skips_a_small_declaration(tmp_path: Path) -> None:
    outcome = asynchronous(tmp_path, TextGenerator(body_limit=7 * 1024 * 1024), "ENV-13")
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "/invocations did not answer 200" in text
    assert "413" in text
    assert "client_max_body_size" in text
    small = document_test_dir(tmp_path / "small", "\n[async]\nmax_request_mb = 5\n")
    outcome, _ = certify(TextGenerator(), "ENV-13", tmp_path / "s", test_dir=small)
    assert outcome.verdict == SKIP
    assert "SRV-9 judges already" in (outcome.reason or "")


def test_a_stream_asked_for_by_a_body_member_merges_it_into_the_document(tmp_path: Path) -> None:
    policy = '\n[streaming]\nbody = { stream = true }\nformat = "sse"\ntext = "token.text"\ndeterministic = true\n'
    test_dir = document_test_dir(tmp_path, policy)
    sent = []
    for clause in ("SRV-22", "SRV-23", "SRV-24"):
        outcome, certification = certify(TextGenerator(), clause, tmp_path / clause, test_dir=test_dir, options=OPTIONS)
        assert outcome.verdict == PASS, outcome.failure and outcome.failure.render()
        sent += [json.loads(body) for _, _, body, _ in certification.servers["default"].requests if body]
    assert {"inputs": "once upon", "parameters": {"max_new_tokens": 6}, "stream": True} in sent
    assert {"parameters": {"max_new_tokens": 6}, "stream": True} in sent  # SRV-24: a corrupted one, asked as a stream


@pytest.mark.parametrize(
    ("document", "shape"),
    [
        (
            {
                "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
                "max_tokens": 8,
            },
            "messages",
        ),
        ({"prompt": "once upon", "max_tokens": 8, "temperature": 0.5}, "prompt"),
    ],
)
def test_other_shapes_corrupt_their_own_members(document: dict[str, object], shape: str) -> None:
    payload = json.dumps(document).encode()
    codec = DocumentCodec.fit(payload, shape=shape)
    cases = codec.shape_defects()
    assert f"without its {shape!r} member" in cases
    assert "max_tokens is a string" in cases
    assert codec.is_request(cases["max_tokens is a string"])
    assert not codec.is_request(cases[f"without its {shape!r} member"])
    if shape == "messages":
        assert json.loads(cases["a message without its content"])["messages"][1] == {"role": "user"}
        assert codec.with_text("x")["messages"][1]["content"] == "x"
    assert codec.is_request(payload)


def test_env12_fails_a_proxy_that_cuts_at_65_s_and_counts_no_real_time_breach(tmp_path: Path) -> None:
    test_dir = document_test_dir(tmp_path, ASYNC_POLICY)
    outcome, certification = certify(TextGenerator(proxy_timeout=65), "ENV-12", tmp_path / "c", test_dir=test_dir)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "An invocation longer than 60 s was cut off after 65.0 s, within the declared 120 s" in text
    assert "504" in text
    assert "proxy_read_timeout" in text
    assert certification.limits.breaches == {}  # the long request is meant to outlast real time: not a breach
    assert "async-long" in [name for name, *_ in certification.fake_target.launches]  # a server of its own


def test_env12_passes_the_long_payload_and_skips_without_one(tmp_path: Path) -> None:
    test_dir = document_test_dir(tmp_path, ASYNC_POLICY)
    outcome, certification = certify(TextGenerator(), "ENV-12", tmp_path / "a", test_dir=test_dir)
    assert outcome.verdict == PASS
    assert certification.limits.breaches == {}
    short = document_test_dir(tmp_path / "b", '\n[async]\ninvocation_timeout_s = 60\nlong_payload = "long.json"\n')
    outcome, _ = certify(TextGenerator(), "ENV-12", tmp_path / "s", test_dir=short)
    assert outcome.verdict == SKIP
    assert "within real time's 60 s" in (outcome.reason or "")
    none = document_test_dir(tmp_path / "n", "\n[async]\ninvocation_timeout_s = 120\n")
    outcome, _ = certify(TextGenerator(), "ENV-12", tmp_path / "t", test_dir=none)
    assert outcome.verdict == SKIP
    assert "no [async] long_payload" in (outcome.reason or "")


def test_a_missing_long_payload_file_is_a_harness_error(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match=r"long_payload = 'slow\.json', which is missing"):
        document_test_dir(tmp_path, '\n[async]\ninvocation_timeout_s = 120\nlong_payload = "slow.json"\n')
