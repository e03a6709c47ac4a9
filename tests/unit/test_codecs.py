"""The codecs: each media type's records counted, split, rendered, generated and corrupted (properties)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance import codecs
from conformance.codecs import EMPTY, SINGLE, Codec, CodecError, CsvCodec, JsonCodec, JsonLinesCodec

PROPERTY = settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

numbers = st.floats(allow_nan=False, allow_infinity=False, width=64) | st.integers(-(10**6), 10**6)


@st.composite
def json_records(draw: st.DrawFn) -> list[Any]:
    """1 to 6 records of one shape: arrays of numbers, or objects holding one (as SageMaker's JSON Lines)."""
    width = draw(st.integers(1, 5))
    arrays = draw(st.lists(st.lists(numbers, min_size=width, max_size=width), min_size=1, max_size=6))
    if draw(st.booleans()):
        return arrays
    return [{"features": a, "id": i} for i, a in enumerate(arrays)]


ENVELOPES: list[Any] = [
    lambda rs: rs,
    lambda rs: {"instances": rs},
    lambda rs: {"inputs": rs, "params": {"k": 1}},
    lambda rs: {"dataframe_records": rs},
    lambda rs: {"dataframe_split": {"columns": ["a"], "data": rs}},
]


def json_payload(records: list[Any], envelope: int) -> bytes:
    return json.dumps(ENVELOPES[envelope](records)).encode()


def jsonl_payload(records: list[Any]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def values(codec: Codec, body: bytes) -> list[Any] | None:
    records = codec.split(body)
    return None if records is None else [json.loads(r) for r in records]


def strict(record: Any, like: Any) -> bool:
    """A record a strict model of ``like``'s shape accepts: the same structure, numbers where numbers were."""
    if isinstance(like, bool) or not isinstance(like, (int, float, list, dict)):
        return record == like
    if isinstance(like, (int, float)):
        return isinstance(record, (int, float)) and not isinstance(record, bool) and math.isfinite(record)
    if isinstance(like, list):
        return isinstance(record, list) and len(record) == len(like) and all(map(strict, record, like))
    return isinstance(record, dict) and record.keys() == like.keys() and all(strict(record[k], like[k]) for k in like)


def accepted(codec: Codec, body: bytes, like: Any) -> bool:
    """What a strict server of the codec's media type answers with 200."""
    found = values(codec, body)
    return bool(found) and all(strict(r, like) for r in found)  # type: ignore[union-attr]


# --- the bug this package fixes -----------------------------------------------------------------------------------


def test_a_one_line_json_body_has_one_record_per_instance() -> None:
    payload = b'{"instances": [[5.1, 3.5], [6.2, 2.9], [4.9, 3.0]]}'
    codec = codecs.for_request("application/json", payload)
    assert codec.count(payload) == 3
    assert codec.split(payload) == [b"[5.1,3.5]", b"[6.2,2.9]", b"[4.9,3.0]"]


@pytest.mark.parametrize(
    ("content_type", "payload", "codec", "count"),
    [
        ("text/csv", b"1,2\n3,4\n", CsvCodec, 2),
        ("text/csv; charset=utf-8", b"h1,h2\n1,2\n3,4", CsvCodec, 2),
        ("application/json", b"[[1, 2], [3, 4]]", JsonCodec, 2),
        ("Application/JSON", b'{"inputs": [{"a": 1}], "params": {}}', JsonCodec, 1),
        ("application/json", b'{"dataframe_split": {"columns": ["a"], "data": [[1], [2], [3]]}}', JsonCodec, 3),
        ("application/jsonlines", b'{"features": [1]}\n\n{"features": [2]}', JsonLinesCodec, 2),
        ("application/x-ndjson", b"[1]\r\n[2]\r\n", JsonLinesCodec, 2),
    ],
)
def test_for_request(content_type: str, payload: bytes, codec: type[Codec], count: int) -> None:
    fitted = codecs.for_request(content_type, payload, header=payload.startswith(b"h1"))
    assert type(fitted) is codec
    assert fitted.count(payload) == count


@pytest.mark.parametrize(
    ("content_type", "payload", "words"),
    [
        ("image/png", b"\x89PNG", "no codec for 'image/png'"),
        ("application/json", b'{"rows": [[1]]}', "neither an array of records nor one of"),
        ("application/json", b'{"instances": []}', "is empty"),
        ("application/json", b"[1, 2", "not JSON"),
        ("application/json", b"[NaN]", "not JSON"),
        ("application/jsonlines", b"[1]\nnope\n", "line 2 of the JSON Lines payload is not JSON"),
        ("text/csv", b"\n\n", "no record"),
    ],
)
def test_payloads_that_do_not_parse_as_their_media_type(content_type: str, payload: bytes, words: str) -> None:
    with pytest.raises(CodecError, match=words.replace("(", r"\(").replace("[", r"\[")):
        codecs.for_request(content_type, payload)


def test_for_response_falls_back_to_the_declared_accept_then_to_lines() -> None:
    assert codecs.for_response("application/json; charset=utf-8") is JsonCodec
    assert codecs.for_response("text/plain", "application/jsonlines") is JsonLinesCodec
    assert codecs.for_response("application/json", "text/csv") is JsonCodec
    assert codecs.for_response(None) is CsvCodec


# --- responses ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("codec", "body", "records"),
    [
        (JsonCodec, b'{"predictions": [{"b": 1, "a": 2}, 3]}', ['{"a": 2, "b": 1}', "3"]),
        (JsonCodec, b"[[0.5, 0.5], [1, 0]]", ["[0.5, 0.5]", "[1, 0]"]),
        (JsonCodec, b'{"result": [1]}', None),
        (JsonCodec, b'{"predictions": 1}', None),
        (JsonCodec, b"\xff[1]", None),
        (JsonLinesCodec, b'{"b": 1, "a": 2}\r\n\n[3]', ['{"a": 2, "b": 1}', "[3]"]),
        (JsonLinesCodec, b'{"a": 1}\n{"a": 2', None),
        (CsvCodec, b"a\r\n\nb", ["a", "b"]),
    ],
)
def test_output_records(codec: type[Codec], body: bytes, records: list[str] | None) -> None:
    assert codec.output_records(body) == records


def test_expected_records_are_compared_as_json_values() -> None:
    line = '{"probability": 0.5, "predicted_label": "setosa"}'
    assert JsonCodec.canonical(line) == JsonCodec.output_records(("[" + line + "]").encode())[0]  # type: ignore[index]
    assert JsonLinesCodec.canonical(line) == '{"predicted_label": "setosa", "probability": 0.5}'
    assert JsonCodec.canonical("not json") == "not json"
    assert CsvCodec.canonical(" a ") == " a "


# --- round trips --------------------------------------------------------------------------------------------------


@given(records=json_records(), envelope=st.integers(0, len(ENVELOPES) - 1), data=st.data())
@PROPERTY
def test_json_round_trips(records: list[Any], envelope: int, data: st.DataObject) -> None:
    payload = json_payload(records, envelope)
    codec = JsonCodec.fit(payload)
    split = codec.split(payload)
    assert split is not None
    assert [json.loads(r) for r in split] == records
    chosen = data.draw(st.lists(st.sampled_from(split), max_size=8))
    body = codec.render(chosen)
    assert codec.split(body) == chosen
    document, original = json.loads(body), json.loads(payload)
    if envelope:  # the envelope's other members are kept
        assert set(document) == set(original)
    for case, variant in codec.variants(split).items():
        assert codec.split(variant) == (split[:1] if case == SINGLE else split), case


@given(records=json_records(), data=st.data())
@PROPERTY
def test_json_lines_round_trips(records: list[Any], data: st.DataObject) -> None:
    payload = jsonl_payload(records)
    codec = JsonLinesCodec.fit(payload)
    split = codec.split(payload)
    assert split is not None
    assert [json.loads(r) for r in split] == records
    chosen = data.draw(st.lists(st.sampled_from(split), max_size=8))
    assert codec.split(codec.render(chosen)) == chosen
    assert codec.count(codec.render(chosen)) == len(chosen)
    for case, variant in codec.variants(split).items():
        assert codec.split(variant) == (split[:1] if case == SINGLE else split), case


@given(
    table=st.lists(st.lists(st.integers(0, 99).map(str), min_size=2, max_size=2), min_size=1, max_size=5),
    header=st.booleans(),
)
@PROPERTY
def test_csv_round_trips(table: list[list[str]], header: bool) -> None:
    payload = ("a,b\n" if header else "").encode() + b"".join(",".join(r).encode() + b"\n" for r in table)
    codec = CsvCodec.fit(payload, header=header)
    split = codec.split(payload)
    assert split == [",".join(r).encode() for r in table]
    assert codec.split(codec.render(split)) == split
    assert codec.render(split) == payload
    for case, variant in codec.variants(split).items():
        assert variant.startswith(b"a,b") == header
        assert codec.split(variant) == (split[:1] if case == SINGLE else split), case


@given(data=st.data())
@PROPERTY
def test_csv_generated_payloads_keep_the_header_row(data: st.DataObject) -> None:
    codec = CsvCodec.fit(b"a,b\n1,2\n3,4\n", header=True)
    records = codec.split(b"a,b\n1,2\n3,4\n")
    valid = data.draw(codec.valid_payloads(records, max_records=20))
    assert valid.body.startswith(b"a,b\r\n" if b"\r\n" in valid.body else b"a,b\n"), "the body's own line end"
    assert codec.count(valid.body) == len(valid.sources)
    assert valid.body.count(b"a,b") == 1
    malformed = data.draw(codec.malformed_payloads(records))
    assert malformed.body.startswith(b"a,b\n")


# --- generated payloads -------------------------------------------------------------------------------------------


def fitted(records: list[Any], kind: str, envelope: int) -> tuple[Codec, list[bytes]]:
    payload = json_payload(records, envelope) if kind == "json" else jsonl_payload(records)
    codec: Codec = JsonCodec.fit(payload) if kind == "json" else JsonLinesCodec.fit(payload)
    return codec, codec.split(payload) or []


@given(records=json_records(), kind=st.sampled_from(["json", "jsonl"]), envelope=st.integers(0, 4), data=st.data())
@PROPERTY
def test_valid_payloads_are_the_source_records(records: list[Any], kind: str, envelope: int, data: Any) -> None:
    codec, split = fitted(records, kind, envelope)
    generated = data.draw(codec.valid_payloads(split, max_records=50))
    assert 1 <= len(generated.sources) <= 50
    assert values(codec, generated.body) == [records[i] for i in generated.sources], generated.description
    assert generated.description.startswith(f"{len(generated.sources)} records, ")


@given(records=json_records(), kind=st.sampled_from(["json", "jsonl"]), envelope=st.integers(0, 4), data=st.data())
@PROPERTY
def test_malformed_payloads_are_never_accepted(records: list[Any], kind: str, envelope: int, data: Any) -> None:
    codec, split = fitted(records, kind, envelope)
    generated = data.draw(codec.malformed_payloads(split))
    assert generated.sources == ()
    assert not accepted(codec, generated.body, records[0]), f"{generated.description}: {generated.body!r}"
    # A lenient reader (bad bytes replaced) must not find a valid body either.
    assert not accepted(codec, generated.body.decode("utf-8", "replace").encode(), records[0])


@given(records=json_records(), kind=st.sampled_from(["json", "jsonl"]), envelope=st.integers(0, 4))
@PROPERTY
def test_malformed_cases_are_never_accepted(records: list[Any], kind: str, envelope: int) -> None:
    codec, split = fitted(records, kind, envelope)
    cases = codec.malformed_cases(split)
    assert cases[EMPTY] == b""
    assert len(cases) >= 4  # an empty body, the media type's syntax, and at least two wrong shapes
    for case, body in cases.items():
        assert not accepted(codec, body, records[0]), f"{case}: {body!r}"


def defect_kinds(codec: Codec, records: list[bytes]) -> set[str]:
    kinds: set[str] = set()

    @given(codec.malformed_payloads(records))
    @settings(max_examples=200, deadline=None, database=None, derandomize=True)
    def collect(generated: codecs.Generated) -> None:
        kinds.add(generated.description.split(" in record")[0].split(" of ")[0])

    collect()
    return kinds


@pytest.mark.parametrize(
    ("codec", "syntax"),
    [(JsonCodec.fit(b'{"instances": [[1.5, 2]]}'), "truncated document"), (JsonLinesCodec(), "truncated record")],
)
def test_every_kind_of_json_defect_is_generated(codec: Codec, syntax: str) -> None:
    kinds = defect_kinds(codec, [b'{"features":[1.5,2]}', b"[3,4.5]"])
    assert kinds == {syntax, "invalid UTF-8", "too few fields", "too many fields", "non-numeric field"}


# --- sized --------------------------------------------------------------------------------------------------------


@given(records=json_records(), kind=st.sampled_from(["json", "jsonl"]), envelope=st.integers(0, 4),
       size=st.integers(0, 20_000))  # fmt: skip
@PROPERTY
def test_sized_never_exceeds_the_size(records: list[Any], kind: str, envelope: int, size: int) -> None:
    codec, split = fitted(records, kind, envelope)
    body = codec.sized(split, size)
    found = codec.split(body)
    if len(codec.render([])) > size:
        return
    assert len(body) <= size
    assert found is not None
    assert found == [split[i % len(split)] for i in range(len(found))]
    longest = max(len(r) for r in split) + 1
    assert len(body) > size - longest - 1, "as close to the size as whole records allow"


def one_by_one(codec: Codec, records: list[bytes], size: int) -> bytes:
    """``sized`` as first written: record after record, the rule the arithmetic of whole rounds must keep."""
    chosen: list[bytes] = []
    total = len(codec.render([]))
    while records:
        record = records[len(chosen) % len(records)]
        if total + len(record) + codec.separator > size:
            break
        chosen.append(record)
        total += len(record) + codec.separator
    body = codec.render(chosen)
    while len(body) > size and chosen:
        chosen.pop()
        body = codec.render(chosen)
    return body


@given(records=json_records(), kind=st.sampled_from(["json", "jsonl"]), envelope=st.integers(0, 4),
       size=st.integers(0, 5_000))  # fmt: skip
@PROPERTY
def test_sized_chooses_the_records_one_by_one_would(records: list[Any], kind: str, envelope: int, size: int) -> None:
    codec, split = fitted(records, kind, envelope)
    assert codec.sized(split, size) == one_by_one(codec, split, size)


def test_sized_csv_of_uneven_lines_matches_one_by_one() -> None:
    codec = CsvCodec.fit(b"a,b\n1,2\n", header=True)
    split = [b"5.1,3.5,1.4,0.2", b"7,3", b"6.25,2.5,4.9,1.5,extra"]
    for size in (0, 3, 4, 20, 21, 45, 46, 47, 1000, 65_537):
        assert codec.sized(split, size) == one_by_one(codec, split, size), size


def test_sized_for_srv9_in_each_media_type() -> None:
    for codec, record in ((CsvCodec(), b"5.1,3.5,1.4,0.2"), (JsonCodec.fit(b'{"instances": [[1]]}'), b"[5.1,3.5]"),
                          (JsonLinesCodec(), b'{"features":[5.1,3.5]}')):  # fmt: skip
        body = codec.sized([record], 6_000_000)
        assert 6_000_000 - 2 * len(record) < len(body) <= 6_000_000
        assert codec.count(body) == (len(body) - len(codec.render([]))) // (len(record) + 1) + (
            1 if isinstance(codec, JsonCodec) else 0
        )
