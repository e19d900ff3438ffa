"""The one best-trial rule (``trials.best_trial``) and the typed ``Trial``."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from hf_sagemaker_tuning import Trial
from hf_sagemaker_tuning.trials import best_trial, objective_value, ranked_trials

STATES = ("InProgress", "Completed", "Failed", "Stopping", "Stopped")


def _trial(name: str, value: float | None, status: str = "Completed") -> Trial:
    return Trial(name=name, status=status, objective=value, objective_metric="m")


def test_ties_go_to_the_earlier_trial() -> None:
    trials = [_trial("a", 0.5), _trial("b", 0.9), _trial("c", 0.9)]
    assert best_trial(trials, maximize=True) == trials[1]
    assert best_trial(list(reversed(trials)), maximize=True) == trials[2]  # "earlier" is the order given


def test_only_completed_trials_with_a_finite_objective_count() -> None:
    trials = [
        _trial("stopped", 0.99, "Stopped"),  # early-stopped with a last value: never best (AMT's rule)
        _trial("failed", 0.98, "Failed"),
        _trial("running", 0.97, "InProgress"),
        _trial("nan", math.nan),
        _trial("inf", math.inf),
        _trial("none", None),
        _trial("ok", 0.1),
    ]
    assert best_trial(trials, maximize=True) == trials[-1]
    assert [t.name for t in ranked_trials(trials, maximize=False)] == ["ok"]
    assert best_trial(trials[:-1], maximize=True) is None
    assert objective_value(trials[4]) is None and trials[4].objective == math.inf  # kept as reported


def test_minimize_picks_the_lowest() -> None:
    trials = [_trial("a", 0.5), _trial("b", 0.1), _trial("c", 0.1)]
    assert best_trial(trials, maximize=False) == trials[1]


@given(
    st.lists(
        st.tuples(st.sampled_from(STATES), st.one_of(st.none(), st.floats(allow_nan=True))),
        max_size=12,
    ),
    st.booleans(),
)
def test_the_best_is_the_first_completed_trial_with_the_best_finite_value(
    rows: list[tuple[str, float | None]], maximize: bool
) -> None:
    trials = [Trial(name=f"t{i}", status=s, objective=v) for i, (s, v) in enumerate(rows)]
    counted = [t for t in trials if t.status == "Completed" and t.objective is not None and math.isfinite(t.objective)]
    best = best_trial(trials, maximize)
    if not counted:
        assert best is None
        return
    values = [t.objective for t in counted]
    top = max(values) if maximize else min(values)  # type: ignore[type-var]
    assert best is next(t for t in counted if t.objective == top)


def test_a_trial_round_trips_through_a_training_job_summary() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    summary = {
        "TrainingJobName": "job-001-abc",
        "TrainingJobArn": "arn:aws:sagemaker:us-east-1:1:training-job/job-001-abc",
        "TrainingJobStatus": "Completed",
        "TunedHyperParameters": {"learning_rate": "3e-05", "optimizer": '"adamw"'},
        "FinalHyperParameterTuningJobObjectiveMetric": {"MetricName": "eval_f1", "Value": 0.75},
        "ObjectiveStatus": "Succeeded",
        "CreationTime": when,
        "TrainingStartTime": when,
        "TrainingEndTime": when,
    }
    trial = Trial.from_summary(summary)
    assert (trial.name, trial.status, trial.objective, trial.objective_metric) == (
        "job-001-abc",
        "Completed",
        0.75,
        "eval_f1",
    )
    assert trial.hyperparameters == {"learning_rate": "3e-05", "optimizer": '"adamw"'}
    assert Trial.from_summary(trial.to_summary()) == trial
    assert trial.to_summary() == summary


def test_a_trial_is_frozen() -> None:
    trial = _trial("a", 0.5)
    with pytest.raises(ValidationError):
        trial.status = "Failed"  # type: ignore[misc]
