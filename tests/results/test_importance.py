"""Parameter importance: a parameter the objective depends on outranks one it ignores."""

from __future__ import annotations

from pathlib import Path

import pytest

from hf_sagemaker_tuning.errors import BackendError, TuningError
from hf_sagemaker_tuning.results import load, parameter_importance


@pytest.mark.parametrize("evaluator", ["fanova", "mdi"])
def test_x_matters_more_than_the_ignored_z(finished_job: Path, evaluator: str) -> None:
    importance = parameter_importance(finished_job, evaluator=evaluator, seed=0)
    assert set(importance) == {"x", "y", "opt", "z"}
    assert sum(importance.values()) == pytest.approx(1.0)
    assert importance["x"] > importance["z"]
    assert importance["y"] > importance["z"]
    assert list(importance.values()) == sorted(importance.values(), reverse=True)
    assert parameter_importance(finished_job, evaluator=evaluator, seed=0) == importance  # seeded


def test_importance_counts_only_finished_trials(failing_job: Path) -> None:
    importance = parameter_importance(failing_job)
    assert set(importance) == {"opt", "mode", "epochs"}


def test_importance_needs_two_finished_trials_and_a_known_evaluator(finished_job: Path) -> None:
    results = load(finished_job)
    results.trials = results.trials[:1]
    with pytest.raises(BackendError, match="at least 2 finished trials"):
        parameter_importance(results)
    with pytest.raises(TuningError, match="unknown importance evaluator"):
        parameter_importance(finished_job, evaluator="shap")
