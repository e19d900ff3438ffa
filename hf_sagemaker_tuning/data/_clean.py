"""Text cleaning (white space, empty and duplicate texts) and label encoding, with every drop counted."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import DataError
from ._readers import RawSplit

if TYPE_CHECKING:
    from ..specs.dataset import CleaningSpec, DatasetSpec

EMPTY, DUPLICATE, OVER_CAP = "empty", "duplicate", "over_sample_cap"


@dataclass
class CleanSplit:
    """A split after cleaning: texts per text column, labels as read, source row numbers."""

    raw: RawSplit
    texts: list[list[str]]
    labels: list[Any]
    rows: list[int]
    dropped: dict[str, int] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rows)

    def select(self, keep: list[int]) -> CleanSplit:
        """The rows at positions ``keep`` (same drop counts)."""
        return CleanSplit(
            self.raw,
            [[column[i] for i in keep] for column in self.texts],
            [self.labels[i] for i in keep],
            [self.rows[i] for i in keep],
            dict(self.dropped),
            dict(self.kept),
        )


def _text(value: Any, raw: RawSplit, row: int, column: str, cleaning: CleaningSpec) -> str | None:
    """The cleaned text, or ``None`` when it is empty."""
    if value is None:
        if cleaning.drop_empty:
            return None
        raise DataError(
            f"{raw.where(row)}: text column {column!r} is missing (null); set cleaning.drop_empty to drop such rows"
        )
    if not isinstance(value, str):
        raise DataError(f"{raw.where(row)}: text column {column!r} holds {value!r} ({type(value).__name__}), not text")
    if cleaning.normalize_whitespace:
        value = " ".join(value.split())
    if cleaning.drop_empty and not value.strip():
        return None
    return str(value)


def clean(raw: RawSplit, spec: DatasetSpec, *, keep_rows: bool = False) -> CleanSplit:
    """Check that every text is a string and apply ``spec.cleaning``; raise on an empty split.

    With ``keep_rows`` (the test split, unless ``cleaning.clean_test``) no row is dropped: empty
    and duplicate texts are counted in ``kept`` instead of ``dropped``, so a test score is made
    on the whole official split and stays comparable with published ones.
    """
    if raw.rows == 0:
        raise DataError(f"split {raw.name!r} ({raw.origin}) is empty")
    columns, cleaning = spec.text_columns, spec.cleaning
    texts: list[list[str]] = [[] for _ in columns]
    labels: list[Any] = []
    rows: list[int] = []
    found = {EMPTY: 0, DUPLICATE: 0}
    seen: set[tuple[str, ...]] = set()
    source_texts = [raw.data[c] for c in columns]
    source_labels = raw.data[spec.label_column]
    for row in range(raw.rows):
        values = [
            _text(source[row], raw, row, column, cleaning) for source, column in zip(source_texts, columns, strict=True)
        ]
        empty = any(v is None for v in values)
        if empty:
            found[EMPTY] += 1
            if not keep_rows:
                continue
            values = [
                _kept_text(source[row], cleaning) if v is None else v
                for source, v in zip(source_texts, values, strict=True)
            ]
        key = tuple(v for v in values if v is not None)
        if cleaning.drop_duplicates and not empty:  # an empty row is counted once, as empty
            if key in seen:
                found[DUPLICATE] += 1
                if not keep_rows:
                    continue
            seen.add(key)
        for column_texts, value in zip(texts, key, strict=True):
            column_texts.append(value)
        labels.append(source_labels[row])
        rows.append(row)
    none = {EMPTY: 0, DUPLICATE: 0}
    split = CleanSplit(raw, texts, labels, rows, none if keep_rows else found, found if keep_rows else {})
    if rows and found[EMPTY] == len(rows):  # kept rows, every one empty: nothing to score
        raise DataError(f"split {raw.name!r} ({raw.origin}) holds only empty texts ({len(rows)} rows)")
    if not rows:
        raise DataError(
            f"split {raw.name!r} ({raw.origin}) has no rows left after cleaning "
            f"({found[EMPTY]} empty, {found[DUPLICATE]} duplicate texts dropped)"
        )
    return split


def _kept_text(value: Any, cleaning: CleaningSpec) -> str:
    """An empty text of a kept row, as the tokenizer will see it (a missing one is the empty string)."""
    if value is None:
        return ""
    return " ".join(value.split()) if cleaning.normalize_whitespace else str(value)


def label_names(spec: DatasetSpec, splits: list[CleanSplit], folder_names: list[str] | None) -> list[str]:
    """Class names: ``spec.label_names``, else ClassLabel names, else ``labels.json``, else sorted strings."""
    declared = splits[0].raw.class_names
    if spec.label_names is not None:
        if declared is not None and len(declared) != len(spec.label_names):
            raise DataError(
                f"label_names has {len(spec.label_names)} names but the source's ClassLabel "
                f"{spec.label_column!r} has {len(declared)}: {declared}"
            )
        return list(spec.label_names)
    if declared is not None:
        return list(declared)
    if folder_names is not None:
        return folder_names
    values = {v for split in splits for v in split.labels}
    if values and all(isinstance(v, str) for v in values):
        return sorted(values)
    raise DataError(
        f"label column {spec.label_column!r} holds class ids but no label names are known; "
        "set label_names in the dataset spec (or put labels.json next to the split files)"
    )


def encode(split: CleanSplit, names: list[str], column: str) -> list[int]:
    """Map labels to class ids in ``0..len(names)-1``; raise on anything else, naming the row."""
    index = {name: i for i, name in enumerate(names)}
    out: list[int] = []
    for position, value in enumerate(split.labels):
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)
        if isinstance(value, str) and value in index:
            out.append(index[value])
        elif isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
            out.append(value)
        else:
            where = split.raw.where(split.rows[position])
            if value is None or (isinstance(value, float) and math.isnan(value)):
                raise DataError(f"{where}: label column {column!r} is empty")
            allowed = f"class ids 0..{len(names) - 1} or the names {', '.join(names)}"
            raise DataError(f"{where}: label {value!r} is outside the label names; allowed: {allowed}")
    return out
