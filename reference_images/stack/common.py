"""Shared helpers for `train`, `app.py` and the algorithm modules.

Kept free of heavy imports at module level (numpy is imported lazily) so that `train` can install its
SIGTERM handler and import this module before anything slow happens.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

# The cause in /opt/ml/output/failure and in 4xx bodies is kept to one line of at most this many characters:
# SageMaker shows the first 1024 characters of the failure file as FailureReason.
MAX_CAUSE_CHARS = 1024


class UserError(Exception):
    """A problem with the data, the configuration or the request: the user can fix it (exit 1 / HTTP 4xx)."""


def one_line(text: str, limit: int = MAX_CAUSE_CHARS) -> str:
    """Collapse `text` to a single line of at most `limit` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


# --------------------------------------------------------------------------------------------------
# Hyperparameters
# --------------------------------------------------------------------------------------------------
Parser = Callable[[str, str], Any]


@dataclass(frozen=True)
class Hyperparameter:
    """How to read one hyperparameter: `parse(name, raw_string)` and the value used when it is absent."""

    parse: Parser
    default: Any
    help: str = ""


def integer(minimum: int | None = None, maximum: int | None = None, optional: bool = False) -> Parser:
    """An integer parser; `optional=True` also accepts "none"/"null"/"" as None."""

    def parse(name: str, raw: str) -> int | None:
        text = raw.strip()
        if optional and text.lower() in ("", "none", "null"):
            return None
        try:
            value = int(text)
        except ValueError:
            # "20.0" is a common way to write an integer from a float-typed tuner range.
            try:
                as_float = float(text)
            except ValueError:
                as_float = math.nan
            if not as_float.is_integer():
                raise UserError(f"hyperparameter {name}={raw!r} is not an integer") from None
            value = int(as_float)
        _check_range(name, raw, value, minimum, maximum)
        return value

    return parse


def real(minimum: float | None = None, maximum: float | None = None) -> Parser:
    """A finite float parser with an optional inclusive range."""

    def parse(name: str, raw: str) -> float:
        try:
            value = float(raw.strip())
        except ValueError:
            raise UserError(f"hyperparameter {name}={raw!r} is not a number") from None
        if not math.isfinite(value):
            raise UserError(f"hyperparameter {name}={raw!r} is not a finite number")
        _check_range(name, raw, value, minimum, maximum)
        return value

    return parse


def choice(*allowed: str) -> Parser:
    """One of a fixed set of strings (compared case-sensitively, as the libraries do)."""

    def parse(name: str, raw: str) -> str:
        if raw not in allowed:
            raise UserError(f"hyperparameter {name}={raw!r} is not one of {', '.join(allowed)}")
        return raw

    return parse


def _check_range(name: str, raw: str, value: float, minimum: float | None, maximum: float | None) -> None:
    if minimum is not None and value < minimum:
        raise UserError(f"hyperparameter {name}={raw!r} is below the minimum {minimum}")
    if maximum is not None and value > maximum:
        raise UserError(f"hyperparameter {name}={raw!r} is above the maximum {maximum}")


# --------------------------------------------------------------------------------------------------
# CSV records
# --------------------------------------------------------------------------------------------------
def iter_records(text: str) -> Iterator[tuple[int, list[str]]]:
    """Yield (line number, fields) for each non-blank CSV record of `text`.

    Blank and whitespace-only lines are skipped, so a trailing blank line, CRLF line ends and a
    missing final newline are all fine. csv.Error (e.g. a NUL byte) becomes a UserError.
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=False)
    try:
        for fields in reader:
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            yield reader.line_num, fields
    except csv.Error as exc:
        raise UserError(f"line {reader.line_num}: unparseable CSV ({exc})") from None


def _describe_bad_field(where: str, index: int, field: str) -> str:
    shown = field if len(field) <= 40 else field[:37] + "..."
    return f"{where} {index} {shown!r} is not a number"


def _is_number_like(field: str) -> bool:
    return field.strip().lower() in ("nan", "inf", "-inf", "+inf", "infinity", "-infinity", "")


def find_bad_field(fields: list[str]) -> tuple[int, str] | None:
    """Return (1-based index, field) of the first field that is not a finite number, or None."""
    for index, field in enumerate(fields, 1):
        try:
            value = float(field)
        except ValueError:
            return index, field
        if not math.isfinite(value):
            return index, field
    return None


def to_matrix(rows: list[list[str]], describe: Callable[[int], str], first_column: int = 1) -> np.ndarray:
    """Convert equal-width string rows into a float64 matrix in one vectorised step.

    On failure, the slow path finds the first field that is not a finite number and names it with
    `describe(row_index)` plus its position, e.g. "record 2 field 1" or "file a.csv line 7 column 3"
    (`first_column` is the number of the rows' first field). NaN and infinity are rejected.
    """
    import numpy as np

    try:
        matrix = np.array(rows, dtype=np.float64)
        finite = bool(np.isfinite(matrix).all())
    except ValueError:
        finite = False
    if finite:
        return matrix.reshape(len(rows), -1)
    for row_index, fields in enumerate(rows):
        bad = find_bad_field(fields)
        if bad is not None:
            index, field = bad
            message = _describe_bad_field(describe(row_index), index + first_column - 1, field)
            if row_index == 0 and not _is_number_like(field):
                message += " (a header row? the CSV must have none)"
            raise UserError(message)
    raise UserError("the records could not be converted to numbers")  # unreachable in practice


def parse_feature_records(text: str, n_features: int) -> np.ndarray:
    """CSV text (features only, no header) -> float64 matrix (records x n_features).

    Fast path: numpy's C parser (about 5 times faster on megabytes), which accepts a subset of what the
    csv module accepts. Anything it refuses, and any width or NaN problem, goes through the csv-module
    path, which either parses the records after all (e.g. whitespace-only lines) or raises a UserError
    naming the first bad record.
    """
    import numpy as np

    if not text.strip():
        raise UserError("empty payload: expected at least one CSV record")
    try:
        matrix = np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.float64, ndmin=2, quotechar='"', comments=None)
        if matrix.shape[0] > 0 and matrix.shape[1] == n_features and np.isfinite(matrix).all():
            return matrix
    except ValueError:
        pass
    rows: list[list[str]] = []
    for record_no, (_line, fields) in enumerate(iter_records(text), 1):
        if len(fields) != n_features:
            raise UserError(
                f"record {record_no} has {len(fields)} field{'s' if len(fields) != 1 else ''}, "
                f"expected {n_features} (features only, no label column, no header row)"
            )
        rows.append(fields)
    if not rows:
        raise UserError("empty payload: expected at least one CSV record")
    return to_matrix(rows, lambda index: f"record {index + 1} field")


def csv_files(channel_dir: Path) -> list[Path]:
    """Every *.csv file under `channel_dir`, recursively, in a stable (sorted) order; other files are ignored."""
    return sorted(p for p in channel_dir.rglob("*") if p.is_file() and p.suffix.lower() == ".csv")


@dataclass
class LabelledData:
    """Training records: features (n x d float64), labels (n, str or float64) and where each came from."""

    features: np.ndarray
    labels: np.ndarray
    files: list[Path]


def read_labelled_channel(channel: str, channel_dir: Path, label_type: str) -> LabelledData:
    """Read every CSV file of a channel: no header, label in the first column, numeric features after it.

    `label_type` is "string" (class names) or "float" (regression targets).
    """
    import numpy as np

    files = csv_files(channel_dir)
    rows: list[list[str]] = []
    labels: list[str] = []
    origins: list[tuple[Path, int]] = []
    width: int | None = None
    for path in files:
        try:
            text = path.read_text(encoding="utf-8-sig")  # -sig: a byte-order mark (Excel exports) is dropped
        except UnicodeDecodeError as exc:
            raise UserError(f"file {path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        try:
            for line, fields in iter_records(text):
                if len(fields) < 2:
                    raise UserError(
                        f"file {path} line {line} has {len(fields)} field; expected a label followed by features"
                    )
                if width is None:
                    width = len(fields)
                elif len(fields) != width:
                    first_path, first_line = origins[0]
                    raise UserError(
                        f"file {path} line {line} has {len(fields)} fields, expected {width} "
                        f"(as in {first_path} line {first_line})"
                    )
                labels.append(fields[0].strip())
                rows.append(fields[1:])
                origins.append((path, line))
        except UserError as exc:
            if str(exc).startswith("line "):  # from iter_records: add the file name
                raise UserError(f"file {path} {exc}") from None
            raise
    if not rows:
        names = ", ".join(sorted(p.name for p in channel_dir.rglob("*") if p.is_file())[:10]) or "nothing"
        raise UserError(
            f"channel '{channel}' at {channel_dir} holds no CSV records (files found: {names}). "
            "Put at least one non-empty .csv file (no header, label first) in the channel."
        )

    def where(index: int) -> str:
        path, line = origins[index]
        return f"file {path} line {line}"

    features = to_matrix(rows, lambda index: f"{where(index)} column", first_column=2)
    if label_type == "float":
        target = to_matrix([[label] for label in labels], lambda index: f"{where(index)} column").ravel()
    else:
        empty = next((i for i, label in enumerate(labels) if not label), None)
        if empty is not None:
            raise UserError(f"{where(empty)} has an empty label in column 1")
        target = np.array(labels, dtype=object)
    return LabelledData(features=features, labels=target, files=files)


def format_predictions(values: list[Any]) -> str:
    """One prediction per line, newline-terminated; floats with repr() so that they round-trip."""
    if all(type(value) is float for value in values):
        return "".join(f"{value!r}\n" for value in values)
    if all(type(value) is str and value for value in values):
        # Labels that need no CSV quoting (no comma, quote or line break): one join instead of a csv.writer
        # row per record.
        text = "\n".join(values) + "\n"
        if text.count("\n") == len(values) and not any(char in text for char in '",\r'):
            return text
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for value in values:
        if isinstance(value, float):
            writer.writerow([repr(value)])
        else:
            writer.writerow([value])
    return out.getvalue()
