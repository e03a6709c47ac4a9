"""Records per media type, in one place: every serving clause counts, splits, renders, generates and corrupts
payloads through the codec of the media type the policy declares (conformance.toml's ``content_type`` for
requests, ``accept`` for responses).

A policy's ``[document]`` makes the request one JSON document of a generative model (``DocumentCodec``): the
whole document is the one record in, the whole answer the one record out.

A response is read by the codec of its own Content-Type when the harness has one, else by the codec of the
declared ``accept``, else as lines.
"""

from __future__ import annotations

from conformance.codecs.codec import EMPTY, SINGLE, Codec, CodecError, Generated
from conformance.codecs.csv_codec import CsvCodec
from conformance.codecs.document_codec import DocumentCodec, at_path
from conformance.codecs.json_codec import JsonCodec
from conformance.codecs.jsonlines_codec import JsonLinesCodec

__all__ = [
    "CODECS",
    "EMPTY",
    "SINGLE",
    "Codec",
    "CodecError",
    "CsvCodec",
    "DocumentCodec",
    "Generated",
    "JsonCodec",
    "JsonLinesCodec",
    "at_path",
    "codec_for",
    "for_request",
    "for_response",
    "media_type",
]

CODECS: tuple[type[Codec], ...] = (CsvCodec, JsonCodec, JsonLinesCodec)


def media_type(value: str | None) -> str:
    """``Application/JSON; charset=utf-8`` -> ``application/json``."""
    return (value or "").split(";")[0].strip().lower()


def codec_for(value: str | None) -> type[Codec] | None:
    """The codec of a media type (parameters and case ignored), or None when the harness has none."""
    wanted = media_type(value)
    return next((codec for codec in CODECS if wanted in codec.media_types), None)


def known_media_types() -> list[str]:
    return [media for codec in CODECS for media in codec.media_types]


def for_request(content_type: str, payload: bytes, *, header: bool = False, document: str | None = None) -> Codec:
    """The request codec, fitted to the test-dir's payload; CodecError says why it cannot be. ``document`` is the
    policy's ``[document] shape``: the payload is then one document of that shape."""
    if document is not None:
        return DocumentCodec.fit(payload, header=header, shape=document)
    codec = codec_for(content_type)
    if codec is None:
        raise CodecError(
            f"the harness has no codec for {content_type!r}, so it cannot count records in it; "
            f"known media types: {', '.join(known_media_types())}"
        )
    return codec.fit(payload, header=header)


def for_response(content_type: str | None, accept: str | None = None, *, document: bool = False) -> type[Codec]:
    """The codec that reads a response: its own Content-Type's, else the declared ``accept``'s, else lines. A
    ``document`` image answers one JSON document: it is read whole."""
    found = codec_for(content_type) or codec_for(accept) or CsvCodec
    return DocumentCodec if document and found is JsonCodec else found
