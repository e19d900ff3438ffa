"""Parameter importance: a parameter the objective depends on outranks one it ignores."""

from __future__ import annotations

from pathlib import Path

import pytest

from hf_sagemaker_tuning.errors import BackendError, TuningError
from hf_sagemaker_tuning.results import JobResults, load, parameter_importance, write_report


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


def _same_objective(results: JobResults, value: float = 0.5) -> JobResults:
    """Every finished trial scored ``value`` (a real job whose trials all tie)."""
    results.trials = [
        trial if trial.objective is None else trial.model_copy(update={"objective": value}) for trial in results.trials
    ]
    return results


@pytest.mark.parametrize("evaluator", ["fanova", "mdi"])
def test_importance_of_tied_trials_says_it_cannot_be_computed(finished_job: Path, evaluator: str) -> None:
    results = _same_objective(load(finished_job))
    with pytest.raises(BackendError, match=r"all 20 finished trials have the same objective value \(0\.5\)"):
        parameter_importance(results, evaluator=evaluator)


def test_importance_of_one_tuned_parameter_with_tied_trials_is_not_claimed(finished_job: Path) -> None:
    results = _same_objective(load(finished_job))
    results.parameters = results.parameters[:1]
    with pytest.raises(BackendError, match="same objective value"):
        parameter_importance(results)


@pytest.mark.parametrize("keep", [0, 1])
def test_report_notes_importance_it_cannot_compute(finished_job: Path, tmp_path: Path, keep: int) -> None:
    """A tie, a single trial or no trial with an objective: the report is written, importance is a note."""
    results = load(finished_job)
    results.trials = results.trials[:keep]
    out = write_report(results, tmp_path / "report.html").read_text(encoding="utf-8")
    assert f"parameter importance needs at least 2 finished trials; job {results.name!r} has {keep}" in out.replace(
        "&#x27;", "'"
    )


def test_report_of_tied_trials_is_written_with_a_note(finished_job: Path, tmp_path: Path) -> None:
    out = write_report(_same_objective(load(finished_job)), tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Not available: all 20 finished trials have the same objective value (0.5)" in out
    assert out.count("<img ") == 4  # objective, parameters, parallel coordinates, learning curves
