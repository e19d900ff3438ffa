"""``Evaluation``: one model's score on one prepared split, read from its evaluation run's log lines."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from ..errors import BackendError

#: The tag of the evaluation run's one log line that carries everything as JSON (training/hfst_train/evaluation.py).
EVALUATION_PREFIX = "hfst_evaluation"
#: The metrics compared between validation and test (the metric line's keys).
COMPARED = ("eval_official", "eval_macro_f1", "eval_macro_recall", "eval_accuracy", "eval_weighted_f1", "eval_loss")
#: A validation-test difference of at least this much (absolute, on a score in [0, 1]) is flagged.
LARGE_GAP = 0.05


@dataclass(frozen=True)
class Evaluation:
    """A model scored once on one prepared split.

    Attributes:
        job: the tuning job's name.
        split: the split scored (``test`` unless asked otherwise).
        model: where the model is (a local folder or the ``s3://.../model.tar.gz``).
        model_job: the training job that trained it (a trial or a retrain), when known.
        model_source: ``"trial"``, ``"retrain"`` or ``"folder"`` (a model given by the caller).
        evaluation_job: the evaluation run (a training job of the evaluation-only mode).
        examples: how many examples were scored (the whole split unless it was capped when prepared).
        label_names: the classes, in id order.
        metrics: the metric line's figures (``eval_loss``, ``eval_accuracy``, ``eval_macro_f1``,
            ``eval_macro_recall``, ``eval_weighted_f1`` and, when the dataset names its task, ``eval_official``).
        official_metric: the task's official metric (``task``, ``name``, ``score``, ``classes``, ``value``).
        per_class: per class: ``label``, ``precision``, ``recall``, ``f1``, ``support``.
        confusion_matrix: counts, rows = true class, columns = predicted class.
        validation: the same model's figures on the validation split (the run's kept evaluation), when known.
        created: when it was scored (UTC, ISO 8601).
        device: where the evaluation ran (``cpu``/``cuda``).
    """

    job: str
    split: str
    model: str
    model_job: str | None
    model_source: str
    evaluation_job: str
    examples: int
    label_names: tuple[str, ...]
    metrics: Mapping[str, float]
    per_class: tuple[Mapping[str, Any], ...]
    confusion_matrix: tuple[tuple[int, ...], ...]
    official_metric: Mapping[str, Any] | None = None
    validation: Mapping[str, float] | None = None
    created: str = ""
    device: str = ""

    @property
    def score(self) -> tuple[str, float]:
        """The headline figure: the official metric when the task names one, else macro-F1."""
        if self.official_metric is not None and "eval_official" in self.metrics:
            return str(self.official_metric.get("name") or "official"), float(self.metrics["eval_official"])
        return "macro-F1", float(self.metrics["eval_macro_f1"])

    def comparison(self) -> list[tuple[str, float | None, float, float | None, bool]]:
        """Validation vs this split, per metric: ``(metric, validation, test, test - validation, large gap)``."""
        rows = []
        for name in COMPARED:
            if name not in self.metrics:
                continue
            test = float(self.metrics[name])
            valid = None if self.validation is None else self.validation.get(name)
            gap = None if valid is None else test - float(valid)
            flagged = gap is not None and name != "eval_loss" and abs(gap) >= LARGE_GAP
            rows.append((name, None if valid is None else float(valid), test, gap, flagged))
        return rows

    @property
    def large_gap(self) -> bool:
        """Whether any score differs by ``LARGE_GAP`` or more between validation and this split."""
        return any(row[4] for row in self.comparison())

    def summary(self) -> str:
        """A few lines: the headline score, the split's size, the model, and validation vs this split."""
        name, value = self.score
        lines = [
            f"{self.split.capitalize()} score of {self.model_job or self.model} ({self.model_source}): "
            f"{name} {value:.4f} on {self.examples:,} {self.split} examples",
        ]
        for metric, valid, test, gap, flagged in self.comparison():
            shown = metric.removeprefix("eval_")
            if valid is None:
                lines.append(f"  {shown:<14} {self.split} {test:.4f}")
            else:
                flag = "  <- large gap" if flagged else ""
                lines.append(f"  {shown:<14} validation {valid:.4f}  {self.split} {test:.4f}  ({gap:+.4f}){flag}")
        if self.large_gap:
            lines.append(
                f"  warning: validation and {self.split} differ by {LARGE_GAP} or more: "
                "the validation split may not represent the test data"
            )
        return "\n".join(lines)

    def details_text(self) -> str:
        """The per-class table and the confusion matrix, as fixed-width text."""
        if not self.per_class and not self.confusion_matrix:  # not single-label: no per-class table here
            return ""
        width = max(8, *(len(name) for name in self.label_names))
        lines = [f"  {'class':<{width}}  precision  recall     f1  support"]
        for row in self.per_class:
            lines.append(
                f"  {row['label']:<{width}}  {row['precision']:>9.4f}  {row['recall']:>6.4f}  {row['f1']:>5.4f}"
                f"  {row['support']:>7,}"
            )
        lines.append(f"  confusion matrix (rows: true, columns: predicted; {', '.join(self.label_names)})")
        cell = max(5, *(len(f"{v:,}") for row in self.confusion_matrix for v in row))
        for name, counts in zip(self.label_names, self.confusion_matrix, strict=True):
            lines.append(f"  {name:<{width}}  " + " ".join(f"{v:>{cell},}" for v in counts))
        return "\n".join(lines)

    # ------------------------------------------------------------------ JSON
    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["label_names"] = list(self.label_names)
        out["per_class"] = [dict(row) for row in self.per_class]
        out["confusion_matrix"] = [list(row) for row in self.confusion_matrix]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Evaluation:
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}  # a later version may add keys
        values["label_names"] = tuple(values["label_names"])
        values["per_class"] = tuple(dict(row) for row in values["per_class"])
        values["confusion_matrix"] = tuple(tuple(int(v) for v in row) for row in values["confusion_matrix"])
        return cls(**values)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.to_json(), indent=2), encoding="utf-8")
        temporary.replace(path)

    @classmethod
    def load(cls, path: Path) -> Evaluation:
        try:
            return cls.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise BackendError(f"{path} is not a saved evaluation ({type(exc).__name__}: {exc})") from None


def read_log(log: str) -> tuple[dict[str, float], dict[str, Any]]:
    """The metric line's figures (read with the job's generated regexes) and the evaluation's JSON line.

    Raises:
        BackendError: the log holds no evaluation line (the run did not finish scoring).
    """
    from ..contract import declared_metrics, metric_regex

    payload: dict[str, Any] | None = None
    metrics: dict[str, float] = {}
    names = [name for name in declared_metrics() if name.startswith("eval_")]
    for line in log.splitlines():
        at = line.find(EVALUATION_PREFIX + " {")
        if at >= 0:
            payload = json.loads(line[at + len(EVALUATION_PREFIX) + 1 :])
            continue
        for name in names:
            match = re.search(metric_regex(name), line)
            if match is not None:
                metrics[name] = float(match.group(1))
    if payload is None:
        raise BackendError("the evaluation run's log holds no hfst_evaluation line (did it finish?)")
    return metrics or dict(payload["metrics"]), payload
