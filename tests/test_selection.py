"""Choosing among cross-validated trials: the best mean, or the one-standard-error rule."""

from __future__ import annotations

import math

import pytest

from hf_sagemaker_tuning.selection import select_trial, standard_error
from hf_sagemaker_tuning.trials import Trial


def cv_trial(name: str, mean: float, std: float | None, runs: int = 4, status: str = "Completed") -> Trial:
    metrics = {"eval_cv_macro_f1": mean, "eval_cv_runs": float(runs)}
    if std is not None:
        metrics["eval_cv_macro_f1_std"] = std
    return Trial(name=name, status=status, objective=mean, objective_metric="eval_cv_macro_f1", metrics=metrics)


def test_best_mean_is_the_highest_mean_and_ties_go_to_the_earlier_trial() -> None:
    trials = [cv_trial("a", 0.70, 0.01), cv_trial("b", 0.72, 0.10), cv_trial("c", 0.72, 0.01)]
    assert select_trial(trials, maximize=True).name == "b"  # type: ignore[union-attr]


def test_one_standard_error_picks_the_steadiest_trial_within_one_standard_error_of_the_best() -> None:
    # best "b": 0.72 with std 0.10 over 4 runs -> standard error 0.05; "a" (0.68) is within it, "d" is not
    trials = [cv_trial("a", 0.68, 0.01), cv_trial("b", 0.72, 0.10), cv_trial("d", 0.60, 0.001)]
    assert standard_error(trials[1]) == pytest.approx(0.05)
    assert select_trial(trials, True, "one_standard_error").name == "a"  # type: ignore[union-attr]
    assert select_trial(trials, True, "best_mean").name == "b"  # type: ignore[union-attr]


def test_one_standard_error_when_minimizing_looks_above_the_best() -> None:
    trials = [cv_trial("a", 0.50, 0.2), cv_trial("b", 0.54, 0.01), cv_trial("c", 0.45, 0.02)]
    # best "c" 0.45, standard error 0.01: "a" (0.50) and "b" (0.54) are outside; "c" is chosen
    assert select_trial(trials, False, "one_standard_error").name == "c"  # type: ignore[union-attr]
    trials[2] = cv_trial("c", 0.45, 0.2)  # standard error 0.1: "a" and "b" are within; "b" is steadiest
    assert select_trial(trials, False, "one_standard_error").name == "b"  # type: ignore[union-attr]


def test_without_a_spread_the_rule_falls_back_to_the_best_mean_and_failed_trials_never_count() -> None:
    trials = [cv_trial("a", 0.70, None), cv_trial("b", 0.9, 0.0, status="Failed"), cv_trial("c", 0.69, 0.0)]
    assert select_trial(trials, True, "one_standard_error").name == "a"  # type: ignore[union-attr]
    assert select_trial([], True, "one_standard_error") is None
    spread_read = select_trial(
        [cv_trial("a", 0.70, None), cv_trial("c", 0.69, None)],
        True,
        "one_standard_error",
        read=lambda t: {"eval_cv_macro_f1_std": 0.04, "eval_cv_runs": 4.0},
    )
    assert spread_read is not None and spread_read.name == "a"  # both read std 0.04: the better mean wins
    with pytest.raises(ValueError, match="selection must be one of"):
        select_trial(trials, True, "median")  # type: ignore[arg-type]
    assert math.isclose(standard_error(cv_trial("x", 0.5, 0.2, runs=1)) or 0.0, 0.2)
