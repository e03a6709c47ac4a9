"""The names older callers import; every media type's records now live in ``conformance.codecs``."""

from __future__ import annotations

from conformance.codecs import Generated, for_response
from conformance.codecs.csv_codec import CsvCodec, lines, malformed_payloads, notation, render, rows, valid_payloads
from conformance.http import Exchange

__all__ = [
    "Generated",
    "input_records",
    "malformed_payloads",
    "notation",
    "output_records",
    "render",
    "repeat_to_size",
    "rows",
    "valid_payloads",
]


def input_records(payload: bytes) -> list[bytes]:
    """Non-blank lines: the records of a line-split CSV body, as batch transform splits them."""
    return lines(payload)


def output_records(exchange: Exchange, accept: str | None = None) -> list[str] | None:
    """The response's records, read by the codec of its media type (``conformance.codecs.for_response``)."""
    return for_response(exchange.media_type, accept).output_records(exchange.body)


def repeat_to_size(payload: bytes, size: int) -> bytes:
    """Repeat a CSV payload's records until the body is about ``size`` bytes, never above it."""
    return CsvCodec().sized(lines(payload), size)
