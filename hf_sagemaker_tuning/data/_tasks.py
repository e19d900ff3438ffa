"""Per problem type: label names, label encoding, strata for sampling, channel features and statistics.

Single-label classification keeps the functions in ``_clean``; the other types are here:

* multi-label: each row's label column holds a list of names (or ids); names come from ``label_names``,
  a ClassLabel, ``labels.json`` or the sorted names seen. Statistics: labels per text, cardinality.
* regression: a number per row; statistics: range, mean, standard deviation (and the standardisation).
* token classification: see ``_ner``.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import DataError
from ._clean import CleanSplit, encode, label_names
from ._ner import bio_names, encode_tags, entity_counts

if TYPE_CHECKING:
    from ..specs.dataset import DatasetSpec

REGRESSION_NAMES = ["LABEL_0"]


def names_for(spec: DatasetSpec, splits: list[CleanSplit], folder_names: list[str] | None) -> list[str]:
    """The label (or BIO tag) names of the data, in id order."""
    kind = spec.problem_type
    if kind == "single_label_classification":
        return label_names(spec, splits, folder_names)
    if kind == "regression":
        return list(REGRESSION_NAMES)
    names = spec.label_names or splits[0].raw.class_names or folder_names
    if names is None:
        seen = {v for split in splits for row in split.labels if isinstance(row, list) for v in row}
        if not seen or not all(isinstance(v, str) for v in seen):
            raise DataError(
                f"label column {spec.label_column!r} holds ids but no label names are known; set label_names "
                "in the dataset spec (or put labels.json next to the split files)"
            )
        names = sorted(seen) if kind == "multi_label_classification" else bio_names(seen)
    if kind == "token_classification":
        bio_names(names)  # checks the names are O, B-<type>, I-<type>
    return list(names)


def _multi(split: CleanSplit, names: list[str], column: str) -> list[tuple[int, ...]]:
    index = {name: i for i, name in enumerate(names)}
    out: list[tuple[int, ...]] = []
    for position, value in enumerate(split.labels):
        where = split.raw.where(split.rows[position])
        if not isinstance(value, list):
            raise DataError(f"{where}: label column {column!r} holds {value!r}; multi-label rows need a list of labels")
        ids = set()
        for item in value:
            if isinstance(item, str) and item in index:
                ids.add(index[item])
            elif isinstance(item, int) and not isinstance(item, bool) and 0 <= item < len(names):
                ids.add(item)
            else:
                raise DataError(f"{where}: label {item!r} is not one of the {len(names)} label names {names}")
        out.append(tuple(sorted(ids)))
    return out


def _number(split: CleanSplit, column: str) -> list[float]:
    out: list[float] = []
    for position, value in enumerate(split.labels):
        try:
            number = float(value) if not isinstance(value, bool) else math.nan
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number):
            where = split.raw.where(split.rows[position])
            raise DataError(f"{where}: label column {column!r} holds {value!r}; regression needs a finite number")
        out.append(number)
    return out


def encode_for(split: CleanSplit, names: list[str], spec: DatasetSpec) -> list[Any]:
    """Each row's label as the channel stores it: an id, a tuple of ids, a float, or a tuple of tag ids."""
    kind = spec.problem_type
    if kind == "single_label_classification":
        return encode(split, names, spec.label_column)
    if kind == "multi_label_classification":
        return _multi(split, names, spec.label_column)
    if kind == "regression":
        return _number(split, spec.label_column)
    return encode_tags(split, names, spec.label_column)


def strata(spec: DatasetSpec, labels: Sequence[Any]) -> list[Hashable]:
    """What the validation carve-out and the sample caps stratify on: the class, or the label set.

    Regression and token classification are sampled at random (one stratum): their labels are (nearly) unique.
    """
    if spec.problem_type in ("single_label_classification", "multi_label_classification"):
        return list(labels)
    return [0] * len(labels)


def check_train(spec: DatasetSpec, names: list[str], labels: Sequence[Any], origin: str) -> None:
    """Enough signal to learn from in the train split, per type."""
    kind = spec.problem_type
    if kind == "single_label_classification":
        present = sorted({names[i] for i in labels})
    elif kind == "multi_label_classification":
        present = sorted({names[i] for row in labels for i in row})
    elif kind == "regression":
        if len(set(labels)) < 2:
            raise DataError(f"split 'train' ({origin}) has a constant target after cleaning and sampling")
        return
    else:
        present = sorted({names[i] for row in labels for i in row})
    if len(present) < 2:
        word = "class" if kind == "single_label_classification" else "label"
        shown = repr(present[0]) if present else "none"
        raise DataError(
            f"split 'train' ({origin}) holds a single {word} ({shown}) "
            f"after cleaning and sampling; at least two of {', '.join(names)} are needed"
        )


def target_scale(spec: DatasetSpec, train: Sequence[float]) -> dict[str, float] | None:
    """``{"mean", "std"}`` of the train target when ``standardize_target`` (population std, > 0)."""
    if not spec.standardize_target:
        return None
    mean = statistics.fmean(train)
    return {"mean": mean, "std": statistics.pstdev(train, mean)}


def channel_features(spec: DatasetSpec, names: list[str]) -> dict[str, Any]:
    """The ``datasets`` features of a channel (before tokenization) for the problem type."""
    import datasets

    kind = spec.problem_type
    if kind == "token_classification":
        tags = datasets.ClassLabel(names=names)
        return {"tokens": datasets.List(datasets.Value("string")), "ner_tags": datasets.List(tags)}
    features: dict[str, Any] = {"text": datasets.Value("string")}
    if len(spec.text_columns) == 2:
        features["text_pair"] = datasets.Value("string")
    if kind == "multi_label_classification":
        features["label"] = datasets.List(datasets.ClassLabel(names=names))
    elif kind == "regression":
        features["label"] = datasets.Value("float64")
    else:
        features["label"] = datasets.ClassLabel(names=names)
    return features


def label_statistics(
    spec: DatasetSpec, names: list[str], labels: Sequence[Any]
) -> tuple[dict[str, int], dict[str, Any]]:
    """Rows per label (or entities per type) and the per-type statistics of one split (original scale)."""
    kind = spec.problem_type
    if kind == "single_label_classification":
        counts = [0] * len(names)
        for i in labels:
            counts[i] += 1
        return dict(zip(names, counts, strict=True)), {}
    if kind == "multi_label_classification":
        counts = [0] * len(names)
        for row in labels:
            for i in row:
                counts[i] += 1
        sizes = [len(row) for row in labels]
        stats = {
            "label_cardinality": round(statistics.fmean(sizes), 4) if sizes else 0.0,
            "labels_per_text": {str(k): sizes.count(k) for k in sorted(set(sizes))},
        }
        return dict(zip(names, counts, strict=True)), stats
    if kind == "regression":
        values = [float(v) for v in labels]
        return {}, {
            "min": min(values),
            "max": max(values),
            "mean": round(statistics.fmean(values), 6),
            "std": round(statistics.pstdev(values), 6),
        }
    entities = entity_counts(names, labels)
    return entities, {"entities": sum(entities.values())}
