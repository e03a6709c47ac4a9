"""application/jsonlines: one JSON value per line, as SageMaker's built-in algorithms and batch transform
(SplitType Line) use it. Blank lines are not records; a line that is not JSON makes the body malformed."""

from __future__ import annotations

import json
from collections.abc import Sequence

from hypothesis import strategies as st

from conformance.codecs.codec import EMPTY, SINGLE, Codec, CodecError, Generated
from conformance.codecs.csv_codec import NOT_NUMBERS, NOTATIONS, lines
from conformance.codecs.json_codec import (
    SHAPE_DEFECTS,
    canonical_json,
    canonical_json_text,
    compact,
    dump,
    loads,
    reshape,
    shape_defect_cases,
    shape_defects,
)


class JsonLinesCodec(Codec):
    """Records are lines, each one JSON value written compactly."""

    name = "JSON Lines"
    media_types = (
        "application/jsonlines",
        "application/x-jsonlines",
        "application/jsonl",
        "application/x-ndjson",
        "application/ndjson",
    )

    @classmethod
    def fit(cls, payload: bytes, *, header: bool = False) -> JsonLinesCodec:
        if header:
            raise CodecError("csv_header applies to text/csv only")
        found = lines(payload)
        if not found:
            raise CodecError("the JSON Lines payload has no record")
        for number, line in enumerate(found, 1):
            try:
                loads(line)
            except CodecError as error:
                raise CodecError(f"line {number} of the JSON Lines payload is {error}") from None
        return cls()

    def split(self, body: bytes) -> list[bytes] | None:
        try:
            return [compact(loads(line)) for line in lines(body)]
        except CodecError:
            return None

    def render(self, records: Sequence[bytes]) -> bytes:
        return b"".join(record + b"\n" for record in records)

    def variants(self, records: Sequence[bytes]) -> dict[str, bytes]:
        return {
            "no trailing newline": b"\n".join(records),
            "CRLF line ends": b"".join(record + b"\r\n" for record in records),
            SINGLE: self.render(records[:1]),
        }

    def valid_payloads(self, records: Sequence[bytes], max_records: int = 2000) -> st.SearchStrategy[Generated]:
        values = [json.loads(r) for r in records]

        @st.composite
        def strategy(draw: st.DrawFn) -> Generated:
            count = draw(st.integers(min_value=1, max_value=max_records))
            sources = tuple(draw(st.lists(st.integers(0, len(values) - 1), min_size=count, max_size=count)))
            style = draw(st.sampled_from(NOTATIONS))
            spaced = draw(st.booleans())
            line_end = draw(st.sampled_from(["\n", "\r\n"]))
            trailing = draw(st.booleans())
            text = line_end.join(dump(values[i], style=style, spaced=spaced) for i in sources)
            body = (text + (line_end if trailing else "")).encode()
            description = (
                f"{count} records, {style} notation, {'spaced' if spaced else 'compact'}, "
                f"{'CRLF' if line_end == chr(13) + chr(10) else 'LF'} line ends, "
                f"{'trailing newline' if trailing else 'no trailing newline'}"
            )
            return Generated(body, sources, description)

        return strategy()

    def malformed_cases(self, records: Sequence[bytes]) -> dict[str, bytes]:
        record = json.loads(records[0])
        cases = {EMPTY: b"", "a line that is not JSON": self.render([records[0], b"not-json"])}
        return cases | shape_defect_cases(record, self.render)

    def malformed_payloads(self, records: Sequence[bytes]) -> st.SearchStrategy[Generated]:
        values = [json.loads(r) for r in records]

        @st.composite
        def strategy(draw: st.DrawFn) -> Generated:
            picked = [values[i] for i in draw(st.lists(st.integers(0, len(values) - 1), min_size=1, max_size=5))]
            target = draw(st.integers(0, len(picked) - 1))
            parts = [compact(v) for v in picked]
            # Only an array or an object is never valid when cut short (a cut number may still be a number).
            cuttable = parts[target][:1] in (b"[", b"{")
            kinds = (*(("truncated record",) if cuttable else ()), "invalid UTF-8", *shape_defects(picked[target]))
            kind = draw(st.sampled_from(kinds))
            if kind in SHAPE_DEFECTS:
                parts[target] = compact(reshape(picked[target], kind, draw(st.integers(0, 1000)), draw(NOT_NUMBERS)))
            elif kind == "truncated record":
                parts[target] = parts[target][: draw(st.integers(1, len(parts[target]) - 1))]
            else:
                parts[target] = b"\xff\xfe" + parts[target]
            # Every line ends with a newline: a defect must never hide in an unterminated last line.
            return Generated(self.render(parts), (), f"{kind} in record {target + 1} of {len(picked)}")

        return strategy()

    @classmethod
    def output_records(cls, body: bytes) -> list[str] | None:
        try:
            return [canonical_json(loads(line)) for line in lines(body)]
        except CodecError:
            return None

    @classmethod
    def canonical(cls, record: str) -> str:
        return canonical_json_text(record)
