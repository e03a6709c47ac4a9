"""Counting records, and the generated request bodies SRV-4/7/8 send: properties, not examples."""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conformance.codecs import Generated, for_response
from conformance.codecs.csv_codec import CsvCodec, malformed_payloads, notation, render, rows, valid_payloads
from conformance.codecs.csv_codec import lines as input_records
from conformance.http import Exchange


def output_records(exchange: Exchange) -> list[str] | None:
    return for_response(exchange.media_type, None).output_records(exchange.body)


def repeat_to_size(payload: bytes, size: int) -> bytes:
    return CsvCodec().sized(input_records(payload), size)


PROPERTY = settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def answer(body: bytes, content_type: str | None) -> Exchange:
    headers = {"content-type": content_type} if content_type else {}
    return Exchange("POST", "http://x/invocations", {}, b"", 200, "OK", headers, body, 0.01)


# --- records ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "count"),
    [
        (b"1,2\n3,4\n", 2),
        (b"1,2\n3,4", 2),
        (b"1,2\r\n3,4\r\n", 2),
        (b"1,2\n\n3,4\n\n\n", 2),
        (b"1,2\n", 1),
        (b"", 0),
        (b"\n \n", 0),
    ],
)
def test_input_records(payload: bytes, count: int) -> None:
    assert len(input_records(payload)) == count


@pytest.mark.parametrize(
    ("body", "content_type", "records"),
    [
        (b"0.1\n0.2\n0.3\n", "text/csv", ["0.1", "0.2", "0.3"]),
        (b"0.1\r\n0.2", "text/csv; charset=utf-8", ["0.1", "0.2"]),
        (b"[1, 2, 3]", "application/json", ["1", "2", "3"]),
        (b'[{"label": 1}, {"label": 0}]', "application/json", ['{"label": 1}', '{"label": 0}']),
        (b'{"predictions": [0.5, 0.25]}', "application/json; charset=utf-8", ["0.5", "0.25"]),
        (b'{"predictions": [{"score": 0.5}]}', "Application/JSON", ['{"score": 0.5}']),
        (b'{"score": 1}\n{"score": 2}\n', "application/jsonlines", ['{"score": 1}', '{"score": 2}']),
        (b'{"score": 1}\n{"score": 2}', "application/x-ndjson", ['{"score": 1}', '{"score": 2}']),
        (b"1\n2\n", None, ["1", "2"]),
    ],
)
def test_output_records(body: bytes, content_type: str | None, records: list[str]) -> None:
    assert output_records(answer(body, content_type)) == records


@pytest.mark.parametrize("body", [b"not json", b'{"result": [1]}', b"42", b'"text"', b""])
def test_json_that_is_not_a_list_of_records(body: bytes) -> None:
    assert output_records(answer(body, "application/json")) is None


def test_rows_skip_blank_records() -> None:
    assert rows(b"1,2\n\n,\n3,4\r\n") == [["1", "2"], ["3", "4"]]


def test_render() -> None:
    table = [["1", "2"], ["3", "4"]]
    assert render(table) == b"1,2\n3,4\n"
    assert render(table, line_end="\r\n", trailing=False) == b"1,2\r\n3,4"
    assert render(table, blank_lines=2) == b"1,2\n3,4\n\n\n"


# --- repeat_to_size -----------------------------------------------------------------------------------------------


@given(
    size=st.integers(0, 20_000),
    payload=st.sampled_from([b"5.1,3.5,1.4,0.2\n6.2,2.9,4.3,1.3\n", b"1\r\n22\r\n333", b"\n\n7,7\n\n"]),
)
@PROPERTY
def test_repeat_to_size_never_exceeds_the_size(size: int, payload: bytes) -> None:
    body = repeat_to_size(payload, size)
    assert len(body) <= size
    records = input_records(payload)
    longest = max(len(r) for r in records) + 1
    assert len(body) > size - longest, "as close to the size as whole records allow"
    assert body == b"" or body.endswith(b"\n")
    source = input_records(payload)
    assert input_records(body) == [source[i % len(source)] for i in range(len(input_records(body)))]


def test_repeat_to_size_for_srv9() -> None:
    body = repeat_to_size(b"5.1,3.5,1.4,0.2\n", 6_000_000)
    assert 6_000_000 - 16 < len(body) <= 6_000_000


# --- notation -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "style", "written"),
    [
        ("5", "integer", "5"),
        ("5.0", "integer", "5"),
        ("5.5", "integer", "5.5"),
        ("5", "decimal", "5.0"),
        ("0.1", "exponent", "1.00000000000000006e-01"),
        ("1e-07", "decimal", "1e-07"),
        ("abc", "exponent", "abc"),
        ("1e20", "integer", "1e20"),
        (" 2.5", "as-is", " 2.5"),
    ],
)
def test_notation_examples(cell: str, style: str, written: str) -> None:
    assert notation(cell, style) == written


finite = st.floats(allow_nan=False, allow_infinity=False)


@given(
    value=finite | st.integers(-(10**18), 10**18).map(float),
    style=st.sampled_from(["as-is", "integer", "decimal", "exponent"]),
)
@example(value=-0.0, style="integer")
@example(value=5e-324, style="exponent")
@example(value=1.7976931348623157e308, style="decimal")
@PROPERTY
def test_notation_preserves_the_value_exactly(value: float, style: str) -> None:
    """The same float, to the last bit (only the sign of zero may go: -0.0 == 0.0 for any model)."""
    written = notation(repr(value), style)
    assert float(written) == value, f"{value!r} written as {written!r} in {style} notation"
    if value != 0:
        assert float(written).hex() == value.hex()


# --- generated payloads -------------------------------------------------------------------------------------------

cells = finite.map(repr) | st.integers(-1000, 1000).map(str) | st.sampled_from(["0", "1.5", "-2", "3e-05"])


@st.composite
def tables(draw: st.DrawFn) -> list[list[str]]:
    width = draw(st.integers(1, 6))
    return draw(st.lists(st.lists(cells, min_size=width, max_size=width), min_size=1, max_size=6))


def parse(body: bytes, width: int) -> list[list[float]] | None:
    """The table a strict CSV model sees, or None when it is not a table of ``width`` numbers."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    table = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not table or any(len(row) != width for row in table):
        return None
    try:
        return [[float(cell) for cell in row] for row in table]
    except ValueError:
        return None


@given(data=st.data(), table=tables())
@PROPERTY
def test_valid_payloads_are_the_source_rows(data: st.DataObject, table: list[list[str]]) -> None:
    generated = data.draw(valid_payloads(table, max_records=50))
    assert isinstance(generated, Generated)
    assert 1 <= len(generated.sources) <= 50
    assert len(input_records(generated.body)) == len(generated.sources)
    parsed = parse(generated.body, len(table[0]))
    assert parsed is not None, generated.description
    assert parsed == [[float(cell) for cell in table[i]] for i in generated.sources]
    assert generated.description.startswith(f"{len(generated.sources)} records, ")


@given(data=st.data(), table=tables())
@PROPERTY
def test_malformed_payloads_are_never_a_valid_table(data: st.DataObject, table: list[list[str]]) -> None:
    generated = data.draw(malformed_payloads(table))
    assert generated.sources == ()
    assert parse(generated.body, len(table[0])) is None, f"{generated.description}: {generated.body!r}"


def test_valid_payloads_reach_thousands_of_records() -> None:
    sizes: list[int] = []

    @given(valid_payloads([["1", "2"]]))
    @settings(max_examples=40, deadline=None, database=None, derandomize=True)
    def collect(generated: Generated) -> None:
        sizes.append(len(generated.sources))

    collect()
    assert max(sizes) > 100
    assert min(sizes) == 1


def test_every_kind_of_defect_is_generated() -> None:
    kinds: set[str] = set()

    @given(malformed_payloads([["5.1", "3.5", "1.4", "0.2"], ["6.2", "2.9", "4.3", "1.3"]]))
    @settings(max_examples=200, deadline=None, database=None, derandomize=True)
    def collect(generated: Generated) -> None:
        kinds.add(generated.description.split(" in record")[0])

    collect()
    assert kinds == {"too few fields", "too many fields", "non-numeric field", "stray quote", "invalid UTF-8"}


def test_json_records_are_compared_as_json() -> None:
    records = output_records(answer(json.dumps({"predictions": [{"a": 1, "b": [2]}]}).encode(), "application/json"))
    assert records == ['{"a": 1, "b": [2]}']
