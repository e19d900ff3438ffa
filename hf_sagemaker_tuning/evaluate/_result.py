"""``Evaluation``: one model's score on one prepared split, read from its evaluation run's log lines."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import BackendError
from ._problem_types import MULTI_LABEL, REGRESSION, SINGLE_LABEL, TOKEN_CLASSIFICATION

#: The tag of the evaluation run's one log line that carries everything as JSON (training/hfst_train/evaluation.py).
EVALUATION_PREFIX = "hfst_evaluation"
#: The metrics compared between validation and test, per problem type (the metric line's keys).
COMPARED_BY_TYPE: dict[str, tuple[str, ...]] = {
    SINGLE_LABEL: (
        "eval_official",
        "eval_macro_f1",
        "eval_macro_recall",
        "eval_accuracy",
        "eval_weighted_f1",
        "eval_loss",
    ),
    MULTI_LABEL: ("eval_official", "eval_macro_f1", "eval_micro_f1", "eval_jaccard", "eval_loss"),
    REGRESSION: ("eval_official", "eval_pearson", "eval_spearman", "eval_rmse", "eval_mae", "eval_mse", "eval_loss"),
    TOKEN_CLASSIFICATION: ("eval_official", "eval_f1", "eval_precision", "eval_recall", "eval_loss"),
}
COMPARED = COMPARED_BY_TYPE[SINGLE_LABEL]
#: The headline figure when the task names no official metric: (shown name, metric), per problem type.
HEADLINE: dict[str, tuple[str, str]] = {
    SINGLE_LABEL: ("macro-F1", "eval_macro_f1"),
    MULTI_LABEL: ("macro-F1", "eval_macro_f1"),
    REGRESSION: ("Pearson", "eval_pearson"),
    TOKEN_CLASSIFICATION: ("entity F1", "eval_f1"),
}
#: A validation-test difference of at least this much (absolute) on a score (F1, recall, accuracy,
#: Jaccard in [0, 1]; Pearson, Spearman in [-1, 1]) is flagged.
LARGE_GAP = 0.05
#: Error metrics in the target's own unit (regression): no absolute difference means the same on
#: every scale, so they are flagged when the test error differs from validation's by this share of
#: validation's or more (either way: a test error far below validation's is as suspicious).
LARGE_RELATIVE_GAP = 0.2
ERROR_METRICS = ("eval_mse", "eval_rmse", "eval_mae")


NOT_REPRESENTATIVE = "the validation split may not represent the test data"


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
        problem_type: ``single_label_classification`` (evaluations saved before it existed),
            ``multi_label_classification``, ``regression`` or ``token_classification``.
        details: the type's own view: multi-label ``per_label`` and ``cooccurrence``; regression
            ``points`` (``true`` and ``predicted``, original scale); token classification ``per_type``
            and ``mistakes`` (``tokens``, ``true`` and ``predicted`` tags). ``per_class`` and
            ``confusion_matrix`` are empty for these types.
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
    problem_type: str = SINGLE_LABEL
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def score(self) -> tuple[str, float]:
        """The headline figure: the official metric when the task names one, else the type's main metric.

        Single- and multi-label: macro-F1; regression: Pearson; token classification: entity F1.
        """
        if self.official_metric is not None and "eval_official" in self.metrics:
            return str(self.official_metric.get("name") or "official"), float(self.metrics["eval_official"])
        name, metric = HEADLINE.get(self.problem_type, HEADLINE[SINGLE_LABEL])
        return name, float(self.metrics[metric])

    def comparison(self) -> list[tuple[str, float | None, float, float | None, bool]]:
        """Validation vs this split, per metric: ``(metric, validation, test, test - validation, large gap)``.

        The flag (``large gap``): a score differs by ``LARGE_GAP`` or more (absolute); an error
        metric (``ERROR_METRICS``) by ``LARGE_RELATIVE_GAP`` of its validation value or more; a loss
        is compared, never flagged (its scale is the training objective's, e.g. the standardised target).
        """
        rows = []
        for name in COMPARED_BY_TYPE.get(self.problem_type, COMPARED):
            if name not in self.metrics:
                continue
            test = float(self.metrics[name])
            valid = None if self.validation is None else self.validation.get(name)
            gap = None if valid is None else test - float(valid)
            flagged = gap is not None and valid is not None and self._is_large(name, float(valid), gap)
            rows.append((name, None if valid is None else float(valid), test, gap, flagged))
        return rows

    def _is_large(self, name: str, valid: float, gap: float) -> bool:
        if name == "eval_loss":
            return False
        official_score = str((self.official_metric or {}).get("score", ""))
        if name in ERROR_METRICS or (name == "eval_official" and f"eval_{official_score}" in ERROR_METRICS):
            return abs(gap) >= LARGE_RELATIVE_GAP * abs(valid) if valid != 0 else gap != 0
        return abs(gap) >= LARGE_GAP

    @property
    def large_gap(self) -> bool:
        """Whether any metric is flagged between validation and this split (``comparison``'s rule)."""
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
            lines.append(f"  warning: validation and {self.split} differ by {self.gap_rule()}: {NOT_REPRESENTATIVE}")
        return "\n".join(lines)

    def gap_rule(self) -> str:
        """The flag's rule in words, for the metrics this evaluation compares."""
        absolute = f"{LARGE_GAP} or more"
        if any(name in ERROR_METRICS for name, *_ in self.comparison()):
            return f"{absolute} (errors: {LARGE_RELATIVE_GAP:.0%} or more of the validation error)"
        return absolute

    def details_text(self) -> str:
        """The type's own view as fixed-width text: per-class table and confusion matrix (single-label),
        per-label table and co-occurring labels (multi-label), error summary (regression), per-type table
        and mistakes with their tokens (token classification)."""
        if self.problem_type != SINGLE_LABEL:
            from ._views import details_text

            return details_text(self)
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
        out["details"] = json.loads(json.dumps(self.details))  # plain lists and dicts
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Evaluation:
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}  # a later version may add keys
        values["label_names"] = tuple(values["label_names"])
        values["per_class"] = tuple(dict(row) for row in values["per_class"])
        values["confusion_matrix"] = tuple(tuple(int(v) for v in row) for row in values["confusion_matrix"])
        values["details"] = dict(values.get("details") or {})
        values["problem_type"] = str(values.get("problem_type") or SINGLE_LABEL)  # older evaluations: single-label
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
    # the JSON line's figures fill in what the declared regexes do not read (e.g. eval_f1_<type>)
    return {**{k: float(v) for k, v in dict(payload.get("metrics") or {}).items()}, **metrics}, payload
