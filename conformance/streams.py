"""The frames of a streamed answer: Server-Sent Events (``data:`` events) or JSON Lines, and the text each carries.

SRV-22..SRV-24 read a streamed answer through here: which frames it holds, whether it is framed as its declared type
at all, which frames report an error, and the generated text the frames add up to.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from conformance import codecs, contract

SSE = "sse"
JSONLINES = "jsonlines"
MEDIA_TYPES = {
    SSE: (contract.EVENT_STREAM,),
    JSONLINES: (contract.JSON_LINES, "application/x-ndjson", "application/x-jsonlines", "application/jsonl"),
}
"""The Content-Types each declared format may come as."""
DONE = "[DONE]"
"""OpenAI-style streams end with ``data: [DONE]``: a terminator, not a frame of text."""
_SSE_FIELD = re.compile(r"^(data|event|id|retry)(:|$)")


@dataclass(frozen=True)
class Frame:
    """One event (SSE) or line (JSON Lines): its event type ("message" unless an SSE ``event:`` says otherwise) and
    its data."""

    event: str
    data: str

    def json(self) -> Any:
        """The data as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.data)
        except ValueError:
            return None

    @property
    def is_error(self) -> bool:
        """An error frame: an SSE ``event: error``, or JSON data with an ``error`` member."""
        document = self.json()
        return self.event == "error" or (isinstance(document, dict) and "error" in document)


@dataclass(frozen=True)
class Framing:
    """A streamed body read as its declared format: its frames, and the first line that is not of that format."""

    frames: tuple[Frame, ...]
    stray: str | None
    """The first line that is no field of the format (an SSE line without ``data:``, a JSON Lines line that is not
    JSON); None when every line is framed."""
    complete: bool
    """The body ends where a frame ends (an SSE event's blank line, a JSON Lines newline)."""


def read(body: bytes, format_: str) -> Framing:
    text = body.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
    if format_ == SSE:
        return _sse(text)
    return _jsonlines(text)


def _sse(text: str) -> Framing:
    frames: list[Frame] = []
    stray = None
    event, data = "message", list[str]()
    for line in text.split("\n"):
        if line == "":
            if data:
                frames.append(Frame(event, "\n".join(data)))
            event, data = "message", []
        elif line.startswith(":"):
            continue  # a comment (keep-alive)
        elif _SSE_FIELD.match(line):
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "data":
                data.append(value)
            elif name == "event":
                event = value
        elif stray is None:
            stray = line
    return Framing(tuple(frames), stray, complete=text.endswith("\n\n") or not text)


def _jsonlines(text: str) -> Framing:
    frames: list[Frame] = []
    stray = None
    for line in text.split("\n"):
        if not line.strip():
            continue
        frame = Frame("message", line)
        if frame.json() is None and stray is None:
            stray = line
        frames.append(frame)
    return Framing(tuple(frames), stray, complete=text.endswith("\n") or not text)


def frame_text(frame: Frame, path: str) -> str | None:
    """The text a frame adds: its data itself (``path`` ""), or the string at ``path`` in its JSON data; None when
    it has none there (a frame of metadata, a final summary)."""
    if not path:
        return frame.data
    try:
        value = codecs.at_path(frame.json(), path)
    except KeyError:
        return None
    return value if isinstance(value, str) else None


def text_frames(framing: Framing) -> list[Frame]:
    """The frames that may carry text: neither the ``[DONE]`` terminator nor error frames."""
    return [frame for frame in framing.frames if frame.data.strip() != DONE and not frame.is_error]
