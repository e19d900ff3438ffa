"""Warnings about specs that are valid but likely wrong: a search that cannot matter, a suspicious direction."""

from __future__ import annotations

import re

from ..specs.job import TuningJobSpec
from ._findings import Severity

Hint = tuple[str, str, Severity]
#: Custom metric names that read as "lower is better" / "higher is better".
_LOWER_IS_BETTER = re.compile(r"(loss|error|err\b|perplexity|ppl|mse|mae|rmse|wer|cer|latency)", re.IGNORECASE)
_HIGHER_IS_BETTER = re.compile(r"(acc|f1|recall|precision|auc|bleu|rouge|score|map\b|ndcg)", re.IGNORECASE)


def direction_hints(spec: TuningJobSpec) -> list[Hint]:
    """A warning when a custom metric's name reads as the opposite of its direction (declared ones are errors)."""
    objective = spec.objective
    if objective.regex is None or objective.direction is None or objective.direction_override:
        return []
    name = objective.metric
    if objective.direction == "maximize" and _LOWER_IS_BETTER.search(name) and not _HIGHER_IS_BETTER.search(name):
        return [
            (
                "objective.direction",
                f"maximize {name}: the name reads as lower-is-better; check the direction "
                "(set objective.direction_override: true to silence this)",
                "warning",
            )
        ]
    if objective.direction == "minimize" and _HIGHER_IS_BETTER.search(name) and not _LOWER_IS_BETTER.search(name):
        return [
            (
                "objective.direction",
                f"minimize {name}: the name reads as higher-is-better; check the direction "
                "(set objective.direction_override: true to silence this)",
                "warning",
            )
        ]
    return []


def _static_number(spec: TuningJobSpec, name: str) -> float | None:
    value = spec.training.hyperparameters.get(name)
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _static_text(spec: TuningJobSpec, name: str, default: str) -> str | None:
    """The static value of ``name``; its default when neither static nor tuned; ``None`` when tuned."""
    if name in spec.search_space.names():
        return None
    return str(spec.training.hyperparameters.get(name, default))


def pointless_search(spec: TuningJobSpec) -> list[Hint]:
    """Static hyperparameters that make (part of) the search pointless, for the bundled training package."""
    if not spec.training.uses_bundled_package:
        return []
    space = dict(spec.search_space.items())
    out: list[Hint] = []
    max_steps = _static_number(spec, "max_steps")
    # (warmup_steps against the run's total steps is preflight.warmup's: it knows epoch-based totals too)
    if max_steps is not None and max_steps > 0 and "epochs" in space:
        out.append(
            (
                "search_space.epochs",
                f"training.hyperparameters.max_steps ({max_steps:g}) overrides "
                "epochs: every epochs value trains the same steps",
                "warning",
            )
        )
    warmup_steps = _static_number(spec, "warmup_steps")
    if warmup_steps is not None and warmup_steps > 0 and "warmup_ratio" in space:
        out.append(
            (
                "search_space.warmup_ratio",
                f"training.hyperparameters.warmup_steps ({warmup_steps:g}) "
                "overrides warmup_ratio: every warmup_ratio value trains the same",
                "warning",
            )
        )
    if _static_text(spec, "lr_scheduler_type", "linear") == "constant":
        for name in ("warmup_steps", "warmup_ratio"):
            if name in space:
                out.append(
                    (
                        f"search_space.{name}",
                        "lr_scheduler_type constant has no warm-up: every "
                        f"{name} value trains the same (use constant_with_warmup)",
                        "warning",
                    )
                )
    optimizer = _static_text(spec, "optimizer", "adamw")
    if optimizer is not None:
        unused = ["sgd_momentum"] if optimizer != "sgd" else ["adam_beta1", "adam_beta2", "adam_epsilon"]
        if optimizer == "adafactor":
            unused += ["adam_beta2", "adam_epsilon"]
        for name in unused:
            if name in space:
                out.append(
                    (
                        f"search_space.{name}",
                        f"optimizer {optimizer} does not use {name}: every value trains the same",
                        "warning",
                    )
                )
    return out
