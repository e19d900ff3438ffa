"""Checks that a job's objective and hyperparameters fit the dataset's problem type (bundled package only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import contract
from ._base import SpecFieldError
from ._errors import shorten
from .search_space import CategoricalParameter

if TYPE_CHECKING:
    from .job import TuningJobSpec

#: Hyperparameters that only some problem types use (every hyperparameter must take effect).
ONLY_FOR: dict[str, tuple[str, ...]] = {
    "threshold": ("multi_label_classification",),
    "label_smoothing": ("single_label_classification", "multi_label_classification", "token_classification"),
}


def eval_metrics(problem_type: str) -> list[str]:
    """The ``eval_*`` metrics the bundled package prints for a problem type."""
    return [m for m in contract.problem_type_metrics(problem_type) if m.startswith("eval_")]


def fits(metric: str, problem_type: str) -> bool:
    """Whether the bundled package prints ``metric`` for this problem type (``eval_f1_<type>`` for NER too)."""
    if metric in contract.problem_type_metrics(problem_type):
        return True
    family = contract.metric_family(metric)
    return family is not None and family[0] == problem_type


def check_problem_type(spec: TuningJobSpec) -> None:
    """Objective metric, ``metric_for_best_model`` and type-specific hyperparameters against the problem type."""
    if not spec.training.uses_bundled_package:
        return
    kind = spec.dataset.problem_type
    allowed = eval_metrics(kind)
    objective = spec.objective
    if objective.regex is None and not fits(objective.metric, kind):
        extra = " and eval_f1_<entity type>" if kind == "token_classification" else ""
        raise SpecFieldError(
            "objective.metric",
            f"{shorten(objective.metric)} is not a metric of {kind} (dataset.problem_type); "
            f"choose one of {allowed}{extra}",
        )
    values: dict[str, list[object]] = {name: [value] for name, value in spec.training.hyperparameters.items()}
    where = {name: f"training.hyperparameters.{name}" for name in values}
    for name, param in spec.search_space.items():
        values[name] = list(param.values) if isinstance(param, CategoricalParameter) else [None]
        where[name] = f"search_space.{name}"
    for name, types in ONLY_FOR.items():
        if name in values and kind not in types:
            raise SpecFieldError(where[name], f"{name} has no effect on {kind} data; it is for {', '.join(types)}")
    for value in values.get("metric_for_best_model", []):
        if value is not None and not fits(str(value), kind):
            raise SpecFieldError(
                where["metric_for_best_model"], f"{kind} prints no {shorten(value)}; choose one of {allowed}"
            )
