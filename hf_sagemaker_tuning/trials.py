"""The one place that decides which trial is best, for every backend and every caller.

Trials are ``TrainingJobSummary`` dicts (SageMaker's shape, which every backend answers in).
A trial counts when it completed with a finite objective value; ties go to the earlier trial
(the order given), as AMT reports them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["best_trial", "objective_value", "ranked_trials"]


def objective_value(trial: Mapping[str, Any]) -> float | None:
    """The trial's final objective value, or ``None`` when it has none (or it is not finite)."""
    metric = trial.get("FinalHyperParameterTuningJobObjectiveMetric") or {}
    value = metric.get("Value")
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def ranked_trials(trials: Iterable[Mapping[str, Any]], maximize: bool) -> list[Mapping[str, Any]]:
    """Completed trials with an objective value, best first (stable: ties keep their order)."""
    done = [t for t in trials if t.get("TrainingJobStatus") == "Completed" and objective_value(t) is not None]
    sign = -1.0 if maximize else 1.0
    return sorted(done, key=lambda t: sign * (objective_value(t) or 0.0))


def best_trial(trials: Iterable[Mapping[str, Any]], maximize: bool) -> Mapping[str, Any] | None:
    """The best completed trial, or ``None`` when no trial completed with an objective value."""
    ranked = ranked_trials(trials, maximize)
    return ranked[0] if ranked else None
