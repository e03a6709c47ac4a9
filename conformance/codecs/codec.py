"""What every codec does: one media type's records, counted, split, rendered, generated and corrupted."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from hypothesis.strategies import SearchStrategy


class CodecError(ValueError):
    """A payload that does not parse as the media type the policy declares (says what is wrong)."""


@dataclass(frozen=True)
class Generated:
    """A generated body and, for valid ones, which test-dir record each of its records came from."""

    body: bytes
    sources: tuple[int, ...]
    description: str


class Codec(ABC):
    """One media type's records.

    A codec is fitted to the test-dir's payload (``fit``): what frames its records (a CSV header row, a JSON
    envelope such as ``{"instances": [...]}``) is kept, so every body it renders is framed the same way. Records
    are the bytes of one record as it appears in a body (a CSV line, a JSON value, a JSON Lines line), without
    separators. The response side needs no fitting (``output_records``, ``canonical``).
    """

    name: ClassVar[str]
    """How a report names the media type: "CSV", "JSON", "JSON Lines"."""
    media_types: ClassVar[tuple[str, ...]]
    """The media types it reads (lower case, no parameters); the first is the one it is known by."""
    separator: ClassVar[int] = 1
    """Bytes between two records in a rendered body: the size estimate for ``sized``."""

    @classmethod
    @abstractmethod
    def fit(cls, payload: bytes, *, header: bool = False) -> Codec:
        """The codec for bodies framed like ``payload``; CodecError when it has no records of this type."""

    @abstractmethod
    def split(self, body: bytes) -> list[bytes] | None:
        """A request body's records, in order (None when it does not parse as this media type)."""

    def count(self, body: bytes) -> int | None:
        records = self.split(body)
        return None if records is None else len(records)

    @abstractmethod
    def render(self, records: Sequence[bytes]) -> bytes:
        """A body holding ``records``, framed like the fitted payload; ``split`` gives the records back."""

    @abstractmethod
    def variants(self, records: Sequence[bytes]) -> dict[str, bytes]:
        """SRV-4's fixed cases: the same records written in the other ways the media type allows, and a body with
        only the first record (always under the key ``SINGLE``)."""

    @abstractmethod
    def valid_payloads(self, records: Sequence[bytes], max_records: int = 2000) -> SearchStrategy[Generated]:
        """Bodies of 1 to ``max_records`` of the given records (shuffled, repeated, rewritten): each one the image
        must answer with one output record per record, in order."""

    @abstractmethod
    def malformed_cases(self, records: Sequence[bytes]) -> dict[str, bytes]:
        """SRV-7's fixed malformed bodies, named by their defect; an empty body always among them."""

    @abstractmethod
    def malformed_payloads(self, records: Sequence[bytes]) -> SearchStrategy[Generated]:
        """Bodies of a few given records with one defect that no parser of this media type accepts, or (for
        records of numbers) that breaks the records' shape."""

    def sized(self, records: Sequence[bytes], size: int) -> bytes:
        """The records repeated in order until the body is about ``size`` bytes, never above it (SRV-9, SRV-13)."""
        total = len(self.render([]))
        cycle = sum(len(record) + self.separator for record in records)
        # Whole rounds of the records by arithmetic, then record by record: a 6 MiB body of short CSV lines is
        # some 300,000 records, and a Python loop over each cost the harness half a CPU-second per body.
        rounds = max(size - total, 0) // cycle if cycle else 0
        chosen = list(records) * rounds
        total += rounds * cycle
        for record in records:
            if total + len(record) + self.separator > size:
                break
            chosen.append(record)
            total += len(record) + self.separator
        body = self.render(chosen)
        while len(body) > size and chosen:
            chosen.pop()
            body = self.render(chosen)
        return body

    @classmethod
    @abstractmethod
    def output_records(cls, body: bytes) -> list[str] | None:
        """A response body's records, each in the form ``canonical`` gives (None when it does not parse)."""

    @classmethod
    def canonical(cls, record: str) -> str:
        """One record written so that equal records compare equal (an expected-output line, say)."""
        return record


SINGLE = "a single record"
EMPTY = "an empty body"
