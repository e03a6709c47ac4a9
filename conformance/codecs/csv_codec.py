"""text/csv: one record per line, as SageMaker's batch transform splits it (SplitType Line); no header row
unless the policy says the image needs one.

Generated payloads start from the test-dir's own rows, so every valid one is a body the image must answer.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from hypothesis import strategies as st

from conformance.codecs.codec import EMPTY, SINGLE, Codec, CodecError, Generated


def lines(body: bytes) -> list[bytes]:
    """Non-blank lines, without their line ends."""
    return [line for line in body.splitlines() if line.strip()]


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


NOTATIONS = ("as-is", "integer", "decimal", "exponent")


@st.composite
def valid_payloads(
    draw: st.DrawFn, table: Sequence[Sequence[str]], max_records: int = 2000, header: bytes = b""
) -> Generated:
    """1 to thousands of test-dir rows: shuffled, repeated, renotated, CRLF, blank trailing lines; after the
    header row, when there is one (with the same line end)."""
    count = draw(st.integers(min_value=1, max_value=max_records))
    sources = tuple(draw(st.lists(st.integers(0, len(table) - 1), min_size=count, max_size=count)))
    style = draw(st.sampled_from(NOTATIONS))
    line_end = draw(st.sampled_from(["\n", "\r\n"]))
    trailing = draw(st.booleans())
    blank_lines = draw(st.integers(0, 2)) if trailing else 0
    body = render(
        [[notation(c, style) for c in table[i]] for i in sources],
        line_end=line_end,
        trailing=trailing,
        blank_lines=blank_lines,
    )
    if header:
        body = header + line_end.encode() + body
    description = (
        f"{count} records, {style} notation, {'CRLF' if line_end == chr(13) + chr(10) else 'LF'} line ends, "
        f"{'trailing newline' if trailing else 'no trailing newline'}, {blank_lines} blank trailing lines"
    )
    return Generated(body, sources, description)


NOT_NUMBERS = st.sampled_from(["abc", "x1", "1.2.3", "--4", "one", "12a", "?", "True"])


@st.composite
def malformed_payloads(draw: st.DrawFn, table: Sequence[Sequence[str]], header: bytes = b"") -> Generated:
    """A few test-dir rows with one defect: a wrong width, a non-number, a stray quote, bad UTF-8; after the header
    row, when there is one."""
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
        row[column] = draw(NOT_NUMBERS)
    elif kind == "stray quote":
        row[column] = row[column][:1] + '"' + row[column][1:] + "x"
    if kind == "invalid UTF-8":
        body = render(picked[:target]) + b"\xff\xfe" + render(picked[target:])
    else:
        body = render(picked)
    return Generated(header + b"\n" + body if header else body, (), f"{kind} in record {target + 1} of {len(picked)}")


class CsvCodec(Codec):
    """Records are lines; a header row, when the policy declares one, frames every body and is no record."""

    name = "CSV"
    media_types = ("text/csv", "application/csv")

    def __init__(self, header: bytes = b"") -> None:
        self.header = header
        """The header line (without its line end), or b"" for SageMaker's convention of none."""

    @classmethod
    def fit(cls, payload: bytes, *, header: bool = False) -> CsvCodec:
        found = lines(payload)
        if len(found) < (2 if header else 1):
            raise CodecError("the CSV payload has no record" + (" after its header row" if header else ""))
        return cls(found[0] if header else b"")

    def split(self, body: bytes) -> list[bytes]:
        found = lines(body)
        return found[1:] if self.header else found

    def _framed(self, body: bytes, line_end: bytes = b"\n") -> bytes:
        return self.header + line_end + body if self.header else body

    def render(self, records: Sequence[bytes]) -> bytes:
        return self._framed(b"".join(record + b"\n" for record in records))

    def variants(self, records: Sequence[bytes]) -> dict[str, bytes]:
        return {
            "no trailing newline": self._framed(b"\n".join(records)),
            "CRLF line ends": self._framed(b"".join(record + b"\r\n" for record in records), b"\r\n"),
            SINGLE: self.render(records[:1]),
        }

    def valid_payloads(self, records: Sequence[bytes], max_records: int = 2000) -> st.SearchStrategy[Generated]:
        return valid_payloads(rows(b"\n".join(records)), max_records, self.header)

    def malformed_cases(self, records: Sequence[bytes]) -> dict[str, bytes]:
        row = rows(records[0])[0]
        cases = {
            EMPTY: b"",
            "one field too many": self._framed(render([[*row, row[0]]])),
            "a non-numeric field": self._framed(render([["not-a-number", *row[1:]]])),
        }
        if len(row) > 1:
            cases["one field too few"] = self._framed(render([row[:-1]]))
        return cases

    def malformed_payloads(self, records: Sequence[bytes]) -> st.SearchStrategy[Generated]:
        return malformed_payloads(rows(b"\n".join(records)), self.header)

    @classmethod
    def output_records(cls, body: bytes) -> list[str]:
        return [line for line in body.decode("utf-8", "replace").splitlines() if line.strip()]
