"""Parse the bytes of one data file (jsonl, json, csv, parquet) into columns.

Only the needed columns are kept; every problem names the file and the line or row.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import DataError

FORMATS = ("jsonl", "json", "csv", "parquet")
_INT = re.compile(r"^\s*-?\d+\s*$")
SUFFIXES = {".jsonl": "jsonl", ".json": "json", ".csv": "csv", ".parquet": "parquet"}


@dataclass
class RawSplit:
    """One split of the source as read: the needed columns as Python lists."""

    name: str
    origin: str
    columns: tuple[str, ...]
    data: dict[str, list[Any]]
    lines: list[int] | None = None
    class_names: list[str] | None = None
    rows: int = field(init=False)

    def __post_init__(self) -> None:
        self.rows = len(next(iter(self.data.values()))) if self.data else 0

    def where(self, row: int) -> str:
        """Human words for row ``row`` (0-based): file, 1-based row and, where known, line."""
        line = f" (line {self.lines[row]})" if self.lines is not None else ""
        return f"split {self.name!r} ({self.origin}) row {row + 1}{line}"


def format_of(name: str, declared: str) -> str:
    """The file format: ``declared`` unless it is ``auto``, else from the suffix of ``name``."""
    if declared != "auto":
        return declared
    lowered = name.lower()
    for suffix, fmt in SUFFIXES.items():
        if lowered.endswith(suffix):
            return fmt
    raise DataError(
        f"cannot tell the format of {name!r} from its suffix; use .jsonl, .json, .csv or .parquet, "
        "or set format to one of: " + ", ".join(FORMATS)
    )


def _missing_columns(origin: str, present: list[str], needed: list[str]) -> None:
    missing = [c for c in needed if c not in present]
    if missing:
        raise DataError(
            f"{origin} has no column {', '.join(map(repr, missing))}; its columns are: {', '.join(present) or '(none)'}"
        )


def _decode(payload: bytes, origin: str, encoding: str) -> str:
    codec = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    try:
        return payload.decode(codec)
    except UnicodeDecodeError as error:
        line = payload[: error.start].count(b"\n") + 1
        raise DataError(
            f"{origin}: line {line} is not valid {encoding} text ({error.reason}); "
            "set `encoding` in the dataset spec (e.g. latin-1)"
        ) from None


def _from_records(name: str, origin: str, records: list[tuple[int, Any]], needed: list[str], unit: str) -> RawSplit:
    if not records:
        return RawSplit(name, origin, (), {c: [] for c in needed}, [])
    first = records[0][1]
    if not isinstance(first, dict):
        raise DataError(f"{origin}: {unit} {records[0][0]} is {type(first).__name__}, not an object with columns")
    present = list(first)
    _missing_columns(origin, present, needed)
    data: dict[str, list[Any]] = {c: [] for c in needed}
    for number, record in records:
        if not isinstance(record, dict):
            raise DataError(f"{origin}: {unit} {number} is {type(record).__name__}, not an object with columns")
        for column in needed:
            if column not in record:
                raise DataError(f"{origin}: {unit} {number} has no {column!r}; it has: {', '.join(record)}")
            data[column].append(record[column])
    lines = [number for number, _ in records] if unit == "line" else None
    return RawSplit(name, origin, tuple(present), data, lines)


def read_bytes(payload: bytes, *, name: str, origin: str, fmt: str, encoding: str, needed: list[str]) -> RawSplit:
    """Parse ``payload`` (the whole file) as ``fmt`` into a ``RawSplit`` named ``name``."""
    if fmt == "parquet":
        return _read_parquet(payload, name, origin, needed)
    text = _decode(payload, origin, encoding)
    if fmt == "csv":
        return _read_csv(text, name, origin, needed)
    if fmt == "json" and text.lstrip()[:1] in ("[", "{") and not _looks_like_json_lines(text):
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as error:
            raise DataError(f"{origin}: not valid JSON at line {error.lineno}: {error.msg}") from None
        if isinstance(loaded, dict) and all(isinstance(v, list) for v in loaded.values()):
            _missing_columns(origin, list(loaded), needed)
            sizes = {len(loaded[c]) for c in needed}
            if len(sizes) > 1:
                raise DataError(f"{origin}: columns {needed} have different lengths {sorted(sizes)}")
            return RawSplit(name, origin, tuple(loaded), {c: list(loaded[c]) for c in needed})
        if isinstance(loaded, dict):  # one JSON object: a single record
            loaded = [loaded]
        if not isinstance(loaded, list):
            raise DataError(f"{origin}: expected a JSON array of objects, or JSON Lines")
        return _from_records(name, origin, list(enumerate(loaded, start=1)), needed, "item")
    records: list[tuple[int, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append((number, json.loads(line)))
        except json.JSONDecodeError as error:
            problem = f"{error.msg} at column {error.colno}"
            raise DataError(f"{origin}: line {number} is not valid JSON ({problem})") from None
    return _from_records(name, origin, records, needed, "line")


def _looks_like_json_lines(text: str) -> bool:
    lines = [line for line in text.splitlines()[:2] if line.strip()]
    if len(lines) < 2 or not lines[0].lstrip().startswith("{"):
        return False
    try:
        json.loads(lines[0])
    except json.JSONDecodeError:
        return False
    return True


def _read_csv(text: str, name: str, origin: str, needed: list[str]) -> RawSplit:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise DataError(f"{origin} is empty (no header row)")
        _missing_columns(origin, header, needed)
        positions = [header.index(c) for c in needed]
        data: dict[str, list[Any]] = {c: [] for c in needed}
        lines: list[int] = []
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                raise DataError(f"{origin}: line {reader.line_num} has {len(row)} fields, the header has {len(header)}")
            for column, position in zip(needed, positions, strict=True):
                data[column].append(row[position])
            lines.append(reader.line_num)
    except csv.Error as error:
        raise DataError(f"{origin}: line {reader.line_num} is not valid CSV ({error})") from None
    labels = data[needed[-1]]
    if labels and all(_INT.match(value) for value in labels):
        data[needed[-1]] = [int(value) for value in labels]
    else:
        data[needed[-1]] = [value if value != "" else None for value in labels]
    return RawSplit(name, origin, tuple(header), data, lines)


def _read_parquet(payload: bytes, name: str, origin: str, needed: list[str]) -> RawSplit:
    pq = importlib.import_module("pyarrow.parquet")

    try:
        table = pq.read_table(io.BytesIO(payload))
    except Exception as error:
        raise DataError(f"{origin} is not a readable parquet file: {error}") from None
    _missing_columns(origin, table.column_names, needed)
    class_names = _class_names_from_schema(table.schema, needed[-1])
    return RawSplit(
        name,
        origin,
        tuple(table.column_names),
        {c: table.column(c).to_pylist() for c in needed},
        class_names=class_names,
    )


def _class_names_from_schema(schema: Any, label_column: str) -> list[str] | None:
    """ClassLabel names that ``datasets`` stores in a parquet schema's metadata, if any."""
    import datasets

    try:
        feature = datasets.Features.from_arrow_schema(schema).get(label_column)
    except Exception:
        return None
    return list(feature.names) if isinstance(feature, datasets.ClassLabel) else None
