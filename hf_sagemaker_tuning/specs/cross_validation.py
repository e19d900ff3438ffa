"""Scores that hold on test: k-fold cross-validation, repeated seeds and the rule that picks the best trial.

Each trial stays one training job: the bundled training package trains the k folds (and the r seeds) in
sequence inside it and prints the cross-run mean as the objective, ``eval_cv_<metric>`` (``cv_metric``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import Field

from ._base import Spec

#: The most folds a trial trains (each fold is a full training run; the metric definitions stay under 40).
MAX_FOLDS = 10
#: The most seeds per configuration.
MAX_REPEATS = 10
#: Prefix of the cross-run mean of a metric (``eval_macro_f1`` -> ``eval_cv_macro_f1``); ``_std`` suffix: spread.
CV_PREFIX = "eval_cv_"
STD_SUFFIX = "_std"
#: The mean optimizer step of the runs' kept evaluations: the budget of a refit.
CV_STEPS = "eval_cv_steps"
#: How many runs the mean is over (folds x seeds).
CV_RUNS = "eval_cv_runs"

Selection = Literal["best_mean", "one_standard_error"]


class CrossValidationSpec(Spec):
    """k-fold cross-validation inside each trial.

    The folds are cut once, by ``hfst prepare``, with a fixed seed, and written with the prepared data
    (``hfst_folds.json`` in the train channel); they are part of its cache key. Single-label data is
    stratified by class.
    """

    folds: int = Field(5, ge=2, le=MAX_FOLDS, description="k: training runs per trial, each scored on one fold.")
    stratified: bool = Field(True, description="Keep each class's share the same in every fold.")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Seed of the fold assignment.")
    use_validation: bool = Field(
        True,
        description=(
            "true: the folds are cut from train + validation together; false: from train alone, and the "
            "validation split is kept apart (no trial sees it)."
        ),
    )
    keep_fold_models: bool = Field(False, description="Save each fold's model too (under <model>/folds/); uses disk.")


def averaged_run(hyperparameters: Mapping[str, str]) -> bool:
    """Whether a training job with these hyperparameters trains several runs (folds or seeds) and prints their mean.

    Such a job keeps no servable model: its configuration is refit first (``retrain(refit=True)``).
    """

    def number(name: str, default: int) -> int:
        try:
            return int(str(hyperparameters.get(name, default)).strip('"'))
        except ValueError:
            return default

    return number("cv_folds", 0) > 0 or number("cv_repeats", 1) > 1


def cv_metric(metric: str) -> str:
    """The cross-run mean's name of a metric the training package prints: ``eval_macro_f1`` -> ``eval_cv_macro_f1``."""
    if metric.startswith(CV_PREFIX):
        return metric
    return CV_PREFIX + metric.removeprefix("eval_")


def base_metric(metric: str) -> str:
    """The per-run metric a cross-run mean is made of: ``eval_cv_macro_f1`` -> ``eval_macro_f1``."""
    if metric.startswith(CV_PREFIX):
        return "eval_" + metric.removeprefix(CV_PREFIX).removesuffix(STD_SUFFIX)
    return metric


def std_metric(metric: str) -> str:
    """The standard deviation's name of a cross-run mean: ``eval_cv_macro_f1`` -> ``eval_cv_macro_f1_std``."""
    return cv_metric(metric) + STD_SUFFIX


def fold_metric(metric: str, fold: int) -> str:
    """One fold's final value of a metric: (``eval_macro_f1``, 0) -> ``eval_fold0_macro_f1``."""
    return f"eval_fold{fold}_" + base_metric(metric).removeprefix("eval_")
