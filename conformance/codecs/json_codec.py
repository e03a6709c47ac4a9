"""application/json: one document whose records are the items of one array.

Requests: the array is the document itself (``[[...], ...]``) or the member of an envelope that the common
serving stacks read: ``{"instances": [...]}`` (TensorFlow Serving's row format, SageMaker's built-in
algorithms, MLflow), ``{"inputs": [...]}``, ``{"dataframe_records": [...]}`` or
``{"dataframe_split": {"data": [...]}}`` (MLflow). The codec keeps the payload's envelope, other members
included, and renders every body in it.

Responses: the records are the items of a top-level array, or of ``{"predictions": [...]}``; any other
document is not a list of records.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import Any

from hypothesis import strategies as st

from conformance.codecs.codec import EMPTY, SINGLE, Codec, CodecError, Generated
from conformance.codecs.csv_codec import NOT_NUMBERS, NOTATIONS, notation

REQUEST_ENVELOPES: tuple[tuple[str, ...], ...] = (
    ("instances",),
    ("inputs",),
    ("dataframe_records",),
    ("dataframe_split", "data"),
)
"""Where a request's array may be, in order of preference; () is the document itself."""
RESPONSE_KEY = "predictions"
_MARK = "\x00records\x00"


def _at(document: Any, path: Sequence[str]) -> Any:
    for key in path:
        if not isinstance(document, dict) or key not in document:
            return None
        document = document[key]
    return document


def shape(path: Sequence[str]) -> str:
    """``("dataframe_split", "data")`` -> ``{"dataframe_split": {"data": [...]}}``."""
    text = "[...]"
    for key in reversed(path):
        text = "{" + json.dumps(key) + ": " + text + "}"
    return text


def find_array(document: Any) -> tuple[str, ...] | None:
    """The path to a request document's array of records, or None when it has none this codec knows."""
    if isinstance(document, list):
        return ()
    for path in REQUEST_ENVELOPES:
        if isinstance(_at(document, path), list):
            return path
    return None


def loads(body: bytes) -> Any:
    """The document, or CodecError (bad UTF-8 or JSON, or NaN/Infinity, which JSON does not have)."""

    def no_constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        return json.loads(body.decode("utf-8"), parse_constant=no_constant)
    except ValueError as error:  # UnicodeDecodeError and JSONDecodeError included
        raise CodecError(f"not JSON: {error}") from None


def dump(value: Any, *, style: str = "as-is", spaced: bool = False, indent: str | None = None, level: int = 0) -> str:
    """``value`` as JSON, numbers in a CSV ``notation`` style (the same number), with the whitespace asked for."""
    if isinstance(value, float) and math.isfinite(value):
        return notation(repr(value), style)
    if isinstance(value, (list, dict)) and value:
        inner = "" if indent is None else "\n" + indent * (level + 1)
        outer = "" if indent is None else "\n" + indent * level
        comma = "," if indent is not None or not spaced else ", "
        colon = ": " if spaced or indent is not None else ":"
        if isinstance(value, list):
            items = [dump(v, style=style, spaced=spaced, indent=indent, level=level + 1) for v in value]
            return "[" + inner + (comma + inner).join(items) + outer + "]"
        members = [
            json.dumps(str(k)) + colon + dump(v, style=style, spaced=spaced, indent=indent, level=level + 1)
            for k, v in value.items()
        ]
        return "{" + inner + (comma + inner).join(members) + outer + "}"
    return json.dumps(value)


def compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def numbers_in(value: Any) -> tuple[Any, ...] | None:
    """The path (indices and keys) to the first non-empty array of numbers in a record, depth first."""
    if isinstance(value, list) and value and all(_is_number(v) for v in value):
        return ()
    children = enumerate(value) if isinstance(value, list) else value.items() if isinstance(value, dict) else ()
    for key, child in children:
        found = numbers_in(child)
        if found is not None:
            return (key, *found)
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _get(value: Any, path: Sequence[Any]) -> Any:
    for key in path:
        value = value[key]
    return value


def reshape(record: Any, kind: str, draw_index: int, replacement: str) -> Any:
    """A copy of ``record`` whose first array of numbers has one field too few or too many, or a non-number."""
    record = json.loads(json.dumps(record))
    path = numbers_in(record)
    assert path is not None
    array = _get(record, path)
    if kind == "too few fields":
        del array[-1]
    elif kind == "too many fields":
        array.append(array[0])
    else:
        array[draw_index % len(array)] = replacement
    return record


SHAPE_DEFECTS = ("too few fields", "too many fields", "non-numeric field")


def shape_defects(record: Any) -> tuple[str, ...]:
    """The defects ``reshape`` can give this record (none when it holds no array of numbers)."""
    path = numbers_in(record)
    if path is None:
        return ()
    width = len(_get(record, path))
    return tuple(kind for kind in SHAPE_DEFECTS if kind != "too few fields" or width > 1)


def shape_defect_cases(record: Any, render: Callable[[Sequence[bytes]], bytes]) -> dict[str, bytes]:
    """One body per shape defect ``record`` can have, each a single reshaped record rendered by ``render``."""
    names = {"too few fields": "one field too few", "too many fields": "one field too many"}
    return {
        names.get(kind, "a non-numeric field"): render([compact(reshape(record, kind, 0, "not-a-number"))])
        for kind in shape_defects(record)
    }


def canonical_json(value: Any) -> str:
    """A JSON value written so that equal values compare equal (keys sorted): the JSON media types' one form."""
    return json.dumps(value, sort_keys=True)


def canonical_json_text(record: str) -> str:
    """``record`` in :func:`canonical_json` form when it is JSON text; any other text as it is."""
    try:
        return canonical_json(json.loads(record))
    except ValueError:
        return record


class JsonCodec(Codec):
    """Records are the items of the payload's array, written compactly; bodies keep the payload's envelope."""

    name = "JSON"
    media_types = ("application/json",)

    def __init__(self, document: Any = None, path: tuple[str, ...] = ()) -> None:
        self.path = path
        """Where the array is: () for a top-level array, ("instances",) for ``{"instances": [...]}``."""
        envelope = json.loads(json.dumps(document if document is not None else []))
        if path:
            _at(envelope, path[:-1])[path[-1]] = _MARK
        else:
            envelope = _MARK
        before, after = compact_dump(envelope).split(json.dumps(_MARK))
        self._prefix, self._suffix = before.encode(), after.encode()
        self._envelope = envelope

    @classmethod
    def fit(cls, payload: bytes, *, header: bool = False) -> JsonCodec:
        if header:
            raise CodecError("csv_header applies to text/csv only")
        document = loads(payload)
        path = find_array(document)
        if path is None:
            shapes = ", ".join(shape(p) for p in REQUEST_ENVELOPES)
            raise CodecError(f"the JSON payload is neither an array of records nor one of {shapes}")
        if not _at(document, path):
            raise CodecError("the JSON payload's array of records is empty")
        return cls(document, path)

    def split(self, body: bytes) -> list[bytes] | None:
        try:
            array = _at(loads(body), self.path)
        except CodecError:
            return None
        return [compact(item) for item in array] if isinstance(array, list) else None

    def render(self, records: Sequence[bytes]) -> bytes:
        return self._prefix + b"[" + b",".join(records) + b"]" + self._suffix

    def _write(
        self,
        values: Sequence[Any],
        *,
        style: str = "as-is",
        spaced: bool = False,
        indent: str | None = None,
        line_end: str = "\n",
    ) -> bytes:
        """``values`` in the payload's envelope, written with the notation and whitespace asked for."""
        envelope = json.loads(json.dumps(self._envelope))
        document: Any = list(values)
        if self.path:
            _at(envelope, self.path[:-1])[self.path[-1]] = document
        else:
            envelope = document
        text = dump(envelope, style=style, spaced=spaced, indent=indent)
        return text.replace("\n", line_end).encode()

    def variants(self, records: Sequence[bytes]) -> dict[str, bytes]:
        values = [json.loads(r) for r in records]
        return {
            "spaces after commas and colons": self._write(values, spaced=True),
            "indented, CRLF line ends": self._write(values, indent="  ", line_end="\r\n") + b"\r\n",
            SINGLE: self.render(records[:1]),
        }

    def valid_payloads(self, records: Sequence[bytes], max_records: int = 2000) -> st.SearchStrategy[Generated]:
        values = [json.loads(r) for r in records]

        @st.composite
        def strategy(draw: st.DrawFn) -> Generated:
            count = draw(st.integers(min_value=1, max_value=max_records))
            sources = tuple(draw(st.lists(st.integers(0, len(values) - 1), min_size=count, max_size=count)))
            style = draw(st.sampled_from(NOTATIONS))
            layout = draw(st.sampled_from(["compact", "spaced", "indented"]))
            line_end = draw(st.sampled_from(["\n", "\r\n"])) if layout == "indented" else "\n"
            trailing = draw(st.booleans())
            body = self._write(
                [values[i] for i in sources],
                style=style,
                spaced=layout == "spaced",
                indent="  " if layout == "indented" else None,
                line_end=line_end,
            )
            body += line_end.encode() if trailing else b""
            ends = f", {'CRLF' if line_end == chr(13) + chr(10) else 'LF'} line ends" if layout == "indented" else ""
            description = (
                f"{count} records, {style} notation, {layout}{ends}, "
                f"{'trailing newline' if trailing else 'no trailing newline'}"
            )
            return Generated(body, sources, description)

        return strategy()

    def malformed_cases(self, records: Sequence[bytes]) -> dict[str, bytes]:
        record = json.loads(records[0])
        cases = {EMPTY: b"", "a truncated document": self.render(records[:1])[:-1]}
        return cases | shape_defect_cases(record, self.render)

    def malformed_payloads(self, records: Sequence[bytes]) -> st.SearchStrategy[Generated]:
        values = [json.loads(r) for r in records]

        @st.composite
        def strategy(draw: st.DrawFn) -> Generated:
            picked = [values[i] for i in draw(st.lists(st.integers(0, len(values) - 1), min_size=1, max_size=5))]
            target = draw(st.integers(0, len(picked) - 1))
            kind = draw(st.sampled_from(("truncated document", "invalid UTF-8", *shape_defects(picked[target]))))
            where = f"in record {target + 1} of {len(picked)}"
            if kind in SHAPE_DEFECTS:
                picked[target] = reshape(picked[target], kind, draw(st.integers(0, 1000)), draw(NOT_NUMBERS))
            parts = [compact(v) for v in picked]
            body = self.render(parts)
            if kind == "truncated document":
                body = body[: draw(st.integers(1, len(body) - 1))]
                where = f"of {len(picked)} records, cut after {len(body)} bytes"
            elif kind == "invalid UTF-8":
                at = len(self._prefix) + 1 + sum(len(part) + 1 for part in parts[:target])
                body = body[:at] + b"\xff\xfe" + body[at:]
            return Generated(body, (), f"{kind} {where}")

        return strategy()

    @classmethod
    def output_records(cls, body: bytes) -> list[str] | None:
        try:
            document = loads(body)
        except CodecError:
            return None
        if isinstance(document, dict):
            document = document.get(RESPONSE_KEY)
        return [canonical_json(item) for item in document] if isinstance(document, list) else None

    @classmethod
    def canonical(cls, record: str) -> str:
        return canonical_json_text(record)


def compact_dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
