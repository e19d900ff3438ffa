"""Classification metrics and the metric line (format declared in ``metrics.json``)."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

METRICS_FILE = Path(__file__).resolve().parent.parent / "metrics.json"
_DECLARED = json.loads(METRICS_FILE.read_text(encoding="utf-8"))
#: Metrics whose lower values are better (``direction: minimize`` in metrics.json: losses and errors).
MINIMIZED = frozenset(name for name, m in _DECLARED["metrics"].items() if m["direction"] == "minimize")
#: Prefixes of metric names built from the data (``eval_f1_<entity type>``), declared as families.
FAMILIES = tuple(_DECLARED.get("families", {}))


def load_metric_declarations(path: Path = METRICS_FILE) -> tuple[str, tuple[str, ...]]:
    """The line prefix and the declared metric names."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    return raw["line_prefix"], tuple(raw["metrics"])


def is_declared(key: str, declared: Sequence[str]) -> bool:
    """A declared metric, or a member of a declared family (``eval_f1_person``)."""
    return key in declared or any(key.startswith(prefix) and len(key) > len(prefix) for prefix in FAMILIES)


def classification_metrics(labels: np.ndarray, predictions: np.ndarray, num_labels: int) -> dict[str, float]:
    """Accuracy, macro F1, macro recall and weighted F1 over all the given examples (scikit-learn's
    definitions, ``labels=range(num_labels)``, ``zero_division=0``; see ``hfst_train.tasks.scores``)."""
    from hfst_train.tasks.scores import per_class_scores

    labels, predictions = np.asarray(labels, dtype=np.int64), np.asarray(predictions, dtype=np.int64)
    scores = per_class_scores(labels, predictions, num_labels)
    support = scores["support"]
    total = int(support.sum())
    return {
        "eval_accuracy": float((labels == predictions).mean()) if len(labels) else 0.0,
        "eval_macro_f1": float(scores["f1"].mean()),
        "eval_macro_recall": float(scores["recall"].mean()),
        "eval_weighted_f1": float((scores["f1"] * support).sum() / total) if total else 0.0,
    }


def format_value(value: float | int) -> str:
    """``repr`` of a float (``1e-05``, ``0.6311``, ``nan``) so a regex group reads it whole; ints as they are."""
    if isinstance(value, bool):
        raise TypeError("metric values are numbers, not bools")
    return str(value) if isinstance(value, int) else repr(float(value))


def format_line(prefix: str, declared: Sequence[str], values: Mapping[str, float | int]) -> str:
    """``<prefix> epoch=... step=... eval_loss=...``: declared keys only, epoch and step first."""
    unknown = sorted(key for key in values if not is_declared(key, declared))
    if unknown:
        raise KeyError(f"metrics {unknown} are not declared in metrics.json")
    order = [key for key in ("epoch", "step") if key in values]
    order += [key for key in declared if key in values and key not in order]
    order += sorted(key for key in values if key not in order)  # family members (eval_f1_<type>), sorted
    return " ".join([prefix, *(f"{key}={format_value(values[key])}" for key in order)])


def print_line(prefix: str, declared: Sequence[str], values: Mapping[str, float | int]) -> None:
    """Print one metric line and flush (the tuner reads the log as it is written)."""
    print(format_line(prefix, declared, values), flush=True)
    sys.stdout.flush()


def is_better(metric: str, candidate: float, incumbent: float | None) -> bool:
    """Whether ``candidate`` beats ``incumbent`` (lower for losses, higher otherwise; NaN never wins)."""
    if math.isnan(candidate):
        return False
    if incumbent is None or math.isnan(incumbent):
        return True
    return candidate < incumbent if metric in MINIMIZED else candidate > incumbent


def select_saved(history: Sequence[Mapping[str, float | int]], metric: str, save_model: str) -> int:
    """Index of the evaluation whose model is kept: the best by ``metric`` (first of ties) or the last."""
    if not history:
        raise ValueError("no evaluation ran")
    if save_model == "last":
        return len(history) - 1
    best: int | None = None
    for index, entry in enumerate(history):
        if is_better(metric, float(entry[metric]), None if best is None else float(history[best][metric])):
            best = index
    return len(history) - 1 if best is None else best
