"""application/json, one document per request: a generative model's request (SRV-21).

A text generator takes one JSON object per call, not a list of records: Hugging Face style ``{"inputs": "text",
"parameters": {...}}``, chat style ``{"messages": [{"role": ..., "content": ...}]}``, or ``{"prompt": "text"}``. The
policy's ``[document] shape`` says which; the whole document is the one record in, and the whole answer the one
document out. Bodies of other sizes (SRV-9's 6 MB, an asynchronous endpoint's larger ones) lengthen the text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, ClassVar

from hypothesis import strategies as st

from conformance.codecs.codec import EMPTY, SINGLE, Codec, CodecError, Generated
from conformance.codecs.json_codec import canonical_json, canonical_json_text, compact, dump, loads

SHAPES: dict[str, str] = {
    "inputs": '{"inputs": "text", "parameters": {...}}',
    "messages": '{"messages": [{"role": "user", "content": "text"}, ...]}',
    "prompt": '{"prompt": "text", ...}',
}
"""The document shapes of ``[document] shape``, as a user would recognise them."""
NOT_TEXT: tuple[Any, ...] = (42, None, {"text": "once"}, True)
"""Values no text member takes. Not a list: Hugging Face's toolkit reads ``"inputs": [...]`` as a batch, and
OpenAI-style chat content may be a list of parts."""
NOT_NUMBERS: tuple[Any, ...] = ("not-a-number", [], {"n": 1}, None)


def at_path(document: Any, path: str) -> Any:
    """The member at a dotted path (``"0.generated_text"``: a number indexes a list); "" is the document itself.
    Raises KeyError naming the first step that is missing."""
    value = document
    for step in path.split(".") if path else ():
        if isinstance(value, list) and step.lstrip("-").isdigit() and -len(value) <= int(step) < len(value):
            value = value[int(step)]
        elif isinstance(value, dict) and step in value:
            value = value[step]
        else:
            raise KeyError(step)
    return value


def _copy(document: dict[str, Any]) -> dict[str, Any]:
    copied: dict[str, Any] = json.loads(json.dumps(document))
    return copied


class DocumentCodec(Codec):
    """The request is one JSON document of the declared shape; the answer is one JSON document."""

    name = "JSON document"
    media_types = ("application/json",)
    separator = 0

    shapes: ClassVar[tuple[str, ...]] = tuple(SHAPES)

    def __init__(self, document: dict[str, Any], shape: str) -> None:
        self.document = document
        self.shape = shape

    @classmethod
    def fit(cls, payload: bytes, *, header: bool = False, shape: str = "inputs") -> DocumentCodec:
        if header:
            raise CodecError("csv_header applies to text/csv only")
        if shape not in SHAPES:
            raise CodecError(f"[document] shape {shape!r} is not one of {', '.join(SHAPES)}")
        document = loads(payload)
        problem = cls._shape_problem(document, shape)
        if problem:
            raise CodecError(f"the payload is not a {shape!r} document, {SHAPES[shape]}: {problem}")
        return cls(document, shape)

    @staticmethod
    def _shape_problem(document: Any, shape: str) -> str:
        if not isinstance(document, dict):
            return f"it is a JSON {type(document).__name__}, not an object"
        if shape not in document:
            return f"it has no {shape!r} member"
        if shape == "messages":
            messages = document["messages"]
            if not isinstance(messages, list) or not messages:
                return '"messages" is not a non-empty list'
            if not all(isinstance(m, dict) and isinstance(m.get("content"), str) for m in messages):
                return 'each message needs a "role" and a string "content"'
        elif not isinstance(document[shape], str) or not document[shape]:
            return f"{shape!r} is not a non-empty string"
        return ""

    # --- the text the model reads -------------------------------------------------------------------------------
    def text_path(self) -> tuple[Any, ...]:
        """Where the prompt is: ("inputs",), ("prompt",), or the last message's content."""
        if self.shape == "messages":
            return ("messages", len(self.document["messages"]) - 1, "content")
        return (self.shape,)

    def with_text(self, text: str) -> dict[str, Any]:
        document = _copy(self.document)
        *parents, last = self.text_path()
        holder = document
        for step in parents:
            holder = holder[step]
        holder[last] = text
        return document

    def with_members(self, members: dict[str, Any]) -> bytes:
        """The payload with ``members`` merged in at the top (``{"stream": true}`` asks for a stream)."""
        return compact({**self.document, **members})

    def is_request(self, body: bytes) -> bool:
        """The body is a document of the shape, its text a string: a request the model can answer."""
        try:
            return not self._shape_problem(loads(body), self.shape)
        except CodecError:
            return False

    # --- the Codec interface ------------------------------------------------------------------------------------
    def split(self, body: bytes) -> list[bytes] | None:
        try:
            document = loads(body)
        except CodecError:
            return None
        return [compact(document)]

    def render(self, records: Sequence[bytes]) -> bytes:
        if len(records) != 1:
            raise CodecError(f"one JSON document is one request: {len(records)} documents do not make one body")
        return bytes(records[0])

    def variants(self, records: Sequence[bytes]) -> dict[str, bytes]:
        document = json.loads(records[0])
        return {
            "spaces after commas and colons": dump(document, spaced=True).encode(),
            "indented, CRLF line ends": dump(document, indent="  ").replace("\n", "\r\n").encode() + b"\r\n",
            SINGLE: self.render(records[:1]),
        }

    def valid_payloads(self, records: Sequence[bytes], max_records: int = 2000) -> st.SearchStrategy[Generated]:
        """The payload's document rewritten: members reordered, spaced or indented, with or without a newline."""
        document = json.loads(records[0])

        @st.composite
        def strategy(draw: st.DrawFn) -> Generated:
            keys = draw(st.permutations(list(document)))
            reordered = {key: document[key] for key in keys}
            layout = draw(st.sampled_from(["compact", "spaced", "indented"]))
            text = dump(reordered, spaced=layout == "spaced", indent="  " if layout == "indented" else None)
            trailing = draw(st.booleans())
            body = (text + ("\n" if trailing else "")).encode()
            return Generated(body, (0,), f"the payload's document, members {keys}, {layout}")

        return strategy()

    def malformed_cases(self, records: Sequence[bytes]) -> dict[str, bytes]:
        """Syntax only: the shape's defects (a missing member, a wrong type) are SRV-21's (``shape_defects``)."""
        return {EMPTY: b"", "a truncated document": records[0][:-1]}

    def malformed_payloads(self, records: Sequence[bytes]) -> st.SearchStrategy[Generated]:
        body = records[0]

        @st.composite
        def strategy(draw: st.DrawFn) -> Generated:
            if draw(st.booleans()):
                cut = draw(st.integers(1, len(body) - 1))
                return Generated(body[:cut], (), f"the document cut after {cut} of {len(body)} bytes")
            at = draw(st.integers(1, len(body) - 1))
            return Generated(body[:at] + b"\xff\xfe" + body[at:], (), f"invalid UTF-8 at byte {at}")

        return strategy()

    def sized(self, records: Sequence[bytes], size: int) -> bytes:
        """The payload with its text repeated until the body is about ``size`` bytes (a long prompt)."""
        empty = len(compact(self.with_text("")))
        seed = (str(at_path(self.document, ".".join(map(str, self.text_path())))) + " ").encode()
        if any(byte > 127 or byte < 32 or byte in b'"\\' for byte in seed):
            seed = b"once upon a time "  # one byte per character in JSON, so the arithmetic holds
        text = (seed * (max(size - empty, 0) // len(seed) + 1))[: max(size - empty, 1)]
        return compact(self.with_text(text.decode()))

    # --- SRV-21's corrupted documents ---------------------------------------------------------------------------
    def _members(self) -> list[tuple[tuple[Any, ...], str]]:
        """Each member a defect can hit, with the kind of value it holds: "text", "number", "object", "list"."""
        found: list[tuple[tuple[Any, ...], str]] = []

        def walk(value: Any, path: tuple[Any, ...]) -> None:
            if path == self.text_path():
                found.append((path, "text"))
            elif isinstance(value, dict):
                if path:
                    found.append((path, "object"))
                for key, child in value.items():
                    walk(child, (*path, key))
            elif isinstance(value, list):
                found.append((path, "list"))
                for index, child in enumerate(value):
                    walk(child, (*path, index))
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                found.append((path, "number"))

        walk(self.document, ())
        return found

    def _replaced(self, path: tuple[Any, ...], value: Any) -> dict[str, Any]:
        document = _copy(self.document)
        holder = document
        for step in path[:-1]:
            holder = holder[step]
        if value is _MISSING:
            del holder[path[-1]]
        else:
            holder[path[-1]] = value
        return document

    def shape_defects(self) -> dict[str, bytes]:
        """SRV-21's fixed cases: the document without its required member, that member of a wrong type, the
        document as an array, and each number of the payload (``max_new_tokens``) as a string."""
        required = self.shape
        cases = {
            f"without its {required!r} member": compact(self._replaced((required,), _MISSING)),
            f"{required!r} is a number": compact(self._replaced((required,), 42)),
            "the document is an array": compact([self.document]),
        }
        if self.shape == "messages":
            content = self.text_path()
            cases["a message without its content"] = compact(self._replaced(content, _MISSING))
            cases["a message's content is a number"] = compact(self._replaced(content, 42))
        for path, kind in self._members():
            if kind == "number":
                cases[f"{_dotted(path)} is a string"] = compact(self._replaced(path, "not-a-number"))
            elif kind == "object":
                cases[f"{_dotted(path)} is a string"] = compact(self._replaced(path, "not-an-object"))
        return cases

    def corrupted_documents(self) -> st.SearchStrategy[Generated]:
        """Documents of the shape with one member missing or of a wrong type: none is a valid request."""
        members = self._members()
        removable = [path for path, kind in members if path == (self.shape,) or kind == "text"]

        @st.composite
        def strategy(draw: st.DrawFn) -> Generated:
            if draw(st.booleans()):
                path = draw(st.sampled_from(removable))
                return Generated(compact(self._replaced(path, _MISSING)), (), f"without {_dotted(path)}")
            path, kind = draw(st.sampled_from(members))
            wrong = NOT_TEXT if kind == "text" else NOT_NUMBERS if kind == "number" else ("not-an-object", 7)
            value = draw(st.sampled_from(wrong))
            return Generated(compact(self._replaced(path, value)), (), f"{_dotted(path)} = {json.dumps(value)}")

        return strategy()

    @classmethod
    def output_records(cls, body: bytes) -> list[str] | None:
        try:
            return [canonical_json(loads(body))]
        except CodecError:
            return None

    @classmethod
    def canonical(cls, record: str) -> str:
        return canonical_json_text(record)


_MISSING = object()
"""``_replaced``'s value for "remove the member"."""


def _dotted(path: Sequence[Any]) -> str:
    return ".".join(str(step) for step in path)
