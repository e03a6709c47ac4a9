"""Request bodies for ``/invocations``: counting records, and generating valid and malformed CSV.

The generators start from the test-dir's own rows, so every generated valid payload is one the
image must answer, with one output record per input record, in the input's order.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass

from hypothesis import strategies as st

from conformance.http import Exchange


def input_records(payload: bytes) -> list[bytes]:
    """Non-blank lines: the records of a line-split CSV body, as batch transform splits them."""
    return [line for line in payload.splitlines() if line.strip()]


def output_records(exchange: Exchange) -> list[str] | None:
    """The response's records by its media type: lines for CSV and JSON Lines, the array for JSON."""
    media = exchange.media_type
    text = exchange.text
    if media in ("application/json",):
        try:
            document = json.loads(text)
        except ValueError:
            return None
        if isinstance(document, dict):
            document = document.get("predictions")
        return [json.dumps(item) for item in document] if isinstance(document, list) else None
    return [line for line in text.splitlines() if line.strip()]


def rows(payload: bytes) -> list[list[str]]:
    reader = csv.reader(io.StringIO(payload.decode("utf-8", "replace")))
    return [row for row in reader if any(cell.strip() for cell in row)]


def render(
    table: Sequence[Sequence[str]], *, line_end: str = "\n", trailing: bool = True, blank_lines: int = 0
) -> bytes:
    text = line_end.join(",".join(row) for row in table)
    if trailing:
        text += line_end
    text += line_end * blank_lines
    return text.encode()


def notation(cell: str, style: str) -> str:
    """The same number in another notation: ``integer`` (when exact), ``decimal`` or ``exponent``."""
    try:
        value = float(cell)
    except ValueError:
        return cell
    if style == "integer" and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if style == "exponent":
        return f"{value:.17e}"
    if style == "decimal":
        return repr(value) if "e" not in repr(value) else cell
    return cell


def repeat_to_size(payload: bytes, size: int) -> bytes:
    """Repeat the payload's records until the body is about ``size`` bytes, never above it."""
    records = input_records(payload)
    out = bytearray()
    index = 0
    while True:
        line = records[index % len(records)] + b"\n"
        if len(out) + len(line) > size:
            break
        out += line
        index += 1
    return bytes(out)


@dataclass(frozen=True)
class Generated:
    """A generated body and, for valid ones, which test-dir row each record came from."""

    body: bytes
    sources: tuple[int, ...]
    description: str


@st.composite
def valid_payloads(draw: st.DrawFn, table: Sequence[Sequence[str]], max_records: int = 2000) -> Generated:
    """1 to thousands of test-dir rows: shuffled, repeated, renotated, CRLF, blank trailing lines."""
    count = draw(st.integers(min_value=1, max_value=max_records))
    sources = tuple(draw(st.lists(st.integers(0, len(table) - 1), min_size=count, max_size=count)))
    style = draw(st.sampled_from(["as-is", "integer", "decimal", "exponent"]))
    line_end = draw(st.sampled_from(["\n", "\r\n"]))
    trailing = draw(st.booleans())
    blank_lines = draw(st.integers(0, 2)) if trailing else 0
    body = render(
        [[notation(c, style) for c in table[i]] for i in sources],
        line_end=line_end,
        trailing=trailing,
        blank_lines=blank_lines,
    )
    description = (
        f"{count} records, {style} notation, {'CRLF' if line_end == chr(13) + chr(10) else 'LF'} line ends, "
        f"{'trailing newline' if trailing else 'no trailing newline'}, {blank_lines} blank trailing lines"
    )
    return Generated(body, sources, description)


_NOT_NUMBERS = st.sampled_from(["abc", "x1", "1.2.3", "--4", "one", "12a", "?", "True"])


@st.composite
def malformed_payloads(draw: st.DrawFn, table: Sequence[Sequence[str]]) -> Generated:
    """A few test-dir rows with one defect: a wrong width, a non-number, a stray quote, bad UTF-8."""
    picked = [list(table[i]) for i in draw(st.lists(st.integers(0, len(table) - 1), min_size=1, max_size=5))]
    target = draw(st.integers(0, len(picked) - 1))
    row = picked[target]
    kind = draw(
        st.sampled_from(["too few fields", "too many fields", "non-numeric field", "stray quote", "invalid UTF-8"])
    )
    column = draw(st.integers(0, len(row) - 1))
    if kind == "too few fields" and len(row) < 2:
        kind = "too many fields"  # a one-column row has no fewer fields that are not a blank line
    if kind == "too few fields":
        del row[draw(st.integers(1, len(row) - 1)) :]
    elif kind == "too many fields":
        row.extend(row[: draw(st.integers(1, len(row)))])
    elif kind == "non-numeric field":
        row[column] = draw(_NOT_NUMBERS)
    elif kind == "stray quote":
        row[column] = row[column][:1] + '"' + row[column][1:] + "x"
    if kind == "invalid UTF-8":
        body = render(picked[:target]) + b"\xff\xfe" + render(picked[target:])
    else:
        body = render(picked)
    return Generated(body, (), f"{kind} in record {target + 1} of {len(picked)}")
