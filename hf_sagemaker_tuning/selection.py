"""Choosing the trial to refit when each trial's objective is a mean over runs (folds or seeds).

Two rules (``tuning.selection``):

- ``best_mean``: the trial with the best mean (what AMT and ``Backend.best_trial`` pick);
- ``one_standard_error``: the trials whose mean is within one standard error of the best mean are
  statistically indistinguishable from it; of those, the one with the smallest spread (standard deviation
  over its runs) is chosen, ties broken by the better mean. Breiman's rule prefers the *simplest* model in
  that band; configurations of one model have no agreed order of simplicity, so the steadiest one stands in.

The standard error of a trial is ``std / sqrt(runs)`` with ``std`` the ``eval_cv_<metric>_std`` and ``runs``
the ``eval_cv_runs`` its training job printed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping

from .specs.cross_validation import CV_PREFIX, CV_RUNS, Selection, std_metric
from .trials import Trial, objective_value, ranked_trials

__all__ = ["SELECTIONS", "Selection", "select_trial", "spread", "standard_error"]

SELECTIONS: tuple[Selection, ...] = ("best_mean", "one_standard_error")
#: Final metric values of a trial when ``Trial.metrics`` lacks them (e.g. SageMaker's DescribeTrainingJob).
MetricsReader = Callable[[Trial], Mapping[str, float]]


def is_averaged(metric: str) -> bool:
    """Whether an objective is a mean over runs (``eval_cv_*``)."""
    return metric.startswith(CV_PREFIX)


def spread(trial: Trial, read: MetricsReader | None = None) -> tuple[float, int] | None:
    """``(std, runs)`` of a trial's averaged objective, or ``None`` when it printed none."""
    if trial.objective_metric is None or not is_averaged(trial.objective_metric):
        return None
    metrics: Mapping[str, float] = trial.metrics
    name = std_metric(trial.objective_metric)
    if name not in metrics and read is not None:
        metrics = read(trial)
    std, runs = metrics.get(name), metrics.get(CV_RUNS)
    if std is None or runs is None or not math.isfinite(std) or runs < 1:
        return None
    return float(std), int(runs)


def standard_error(trial: Trial, read: MetricsReader | None = None) -> float | None:
    """``std / sqrt(runs)`` of a trial's averaged objective, or ``None`` without one."""
    found = spread(trial, read)
    return None if found is None else found[0] / math.sqrt(found[1])


def select_trial(
    trials: Iterable[Trial], maximize: bool, rule: Selection = "best_mean", read: MetricsReader | None = None
) -> Trial | None:
    """The trial ``rule`` chooses among the completed ones with an objective, or ``None`` without any."""
    if rule not in SELECTIONS:
        raise ValueError(f"selection must be one of {list(SELECTIONS)}, not {rule!r}")
    ranked = ranked_trials(trials, maximize)
    if not ranked or rule == "best_mean":
        return ranked[0] if ranked else None
    best = ranked[0]
    error = standard_error(best, read)
    top = objective_value(best)
    if error is None or top is None:
        return best
    band = [t for t in ranked if abs(top - (objective_value(t) or 0.0)) <= error]

    def steadiness(trial: Trial) -> tuple[float, int]:
        found = spread(trial, read)
        return (math.inf if found is None else found[0], ranked.index(trial))

    return min(band, key=steadiness)
