"""Problem types as a registry: one module per type, each owning its labels, loss, metrics and details.

Names follow Hugging Face's ``problem_type``. A channel says which type it holds through its
columns (``load_channel``); the rest of the package asks ``task_for(split.problem_type)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hfst_train.errors import HyperparameterError
from hfst_train.tasks.base import Task, as_array
from hfst_train.tasks.multilabel import MultiLabel
from hfst_train.tasks.regression import Regression
from hfst_train.tasks.single import SingleLabel
from hfst_train.tasks.token import TokenClassification

SINGLE_LABEL = "single_label_classification"
TASKS: dict[str, Task] = {
    task.name: task for task in (SingleLabel(), MultiLabel(), Regression(), TokenClassification())
}
PROBLEM_TYPES = tuple(TASKS)


def task_for(problem_type: str) -> Task:
    """The ``Task`` of a problem type name."""
    try:
        return TASKS[problem_type]
    except KeyError:
        raise ValueError(f"unknown problem type {problem_type!r}; known: {', '.join(TASKS)}") from None


def type_metrics(problem_type: str) -> tuple[str, ...]:
    """The metric names ``metrics.json`` declares for a problem type."""
    import json

    from hfst_train.metrics import METRICS_FILE

    raw = json.loads(METRICS_FILE.read_text(encoding="utf-8"))
    return tuple(raw["problem_types"][problem_type]["metrics"])


def resolve_hyperparameters(problem_type: str, hps: dict[str, Any], declared: Mapping[str, Any]) -> dict[str, Any]:
    """Check that the hyperparameters fit the problem type; resolve ``metric_for_best_model``'s default.

    ``threshold`` is for multi-label classification only and ``label_smoothing`` has no meaning for
    regression: a value other than the default there is refused (every hyperparameter takes effect).
    The default ``metric_for_best_model`` (``eval_macro_f1``) stands for the type's primary metric
    when the type does not print it; any other metric the type does not print is refused.
    """
    task = task_for(problem_type)
    if problem_type != MultiLabel.name and hps["threshold"] != declared["threshold"].default:
        raise HyperparameterError(
            f"hyperparameter 'threshold' is for multi_label_classification only; this data is {problem_type}"
        )
    if problem_type == Regression.name and hps["label_smoothing"] != 0:
        raise HyperparameterError("hyperparameter 'label_smoothing' has no meaning for regression; leave it at 0")
    metric = hps["metric_for_best_model"]
    printed = [m for m in type_metrics(problem_type) if m.startswith("eval_")]
    if metric not in printed:
        if metric != declared["metric_for_best_model"].default:
            raise HyperparameterError(
                f"hyperparameter 'metric_for_best_model': {problem_type} prints no {metric}; choose one of {printed}"
            )
        hps = {**hps, "metric_for_best_model": task.primary_metric}
    return hps


__all__ = ["PROBLEM_TYPES", "TASKS", "Task", "as_array", "resolve_hyperparameters", "task_for", "type_metrics"]
