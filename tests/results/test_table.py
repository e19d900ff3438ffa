"""The results table: AMT's columns and dtypes, the same from a local job and a (moto) SageMaker job."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest

from hf_sagemaker_tuning.backends.local import LocalBackend
from hf_sagemaker_tuning.errors import AwsError, BackendError
from hf_sagemaker_tuning.results import TRIAL_COLUMNS, best_trial, load, results_table, summary

from .conftest import sagemaker_twin

SageMakerJob = tuple[boto3.Session, list[dict[str, Any]]]

EXPECTED_DTYPES = {
    "x": "float64",
    "y": "float64",
    "opt": "string",
    "z": "float64",
    "TrainingJobName": "string",
    "TrainingJobStatus": "string",
    "FinalObjectiveValue": "float64",
    "TrainingStartTime": "datetime64[ns, UTC]",
    "TrainingEndTime": "datetime64[ns, UTC]",
    "TrainingElapsedTimeSeconds": "float64",
    "FailureReason": "string",
}


def test_local_table_has_amt_columns_typed_by_range(finished_job: Path) -> None:
    table = results_table(finished_job)
    assert list(table.columns)[-len(TRIAL_COLUMNS) :] == list(TRIAL_COLUMNS)
    assert {c: str(t) for c, t in table.dtypes.items()} == EXPECTED_DTYPES
    assert len(table) == 20
    assert set(table["opt"]) <= {"a", "b", "c"}
    assert table["x"].between(0, 1).all()
    assert (table["TrainingElapsedTimeSeconds"] > 0).all()
    elapsed = (table["TrainingEndTime"] - table["TrainingStartTime"]).dt.total_seconds()
    assert elapsed.tolist() == pytest.approx(table["TrainingElapsedTimeSeconds"].tolist())


def test_maximize_sorts_best_first(finished_job: Path) -> None:
    values = results_table(finished_job)["FinalObjectiveValue"].tolist()
    assert values == sorted(values, reverse=True)
    trials = LocalBackend(finished_job.parent).list_trials(str(finished_job))
    assert values[0] == max(t.objective or 0.0 for t in trials)


def test_job_by_name_under_jobs_dir_and_by_backend_instance(finished_job: Path) -> None:
    by_path = results_table(finished_job)
    by_name = results_table("fake-job", jobs_dir=finished_job.parent)
    by_backend = results_table(str(finished_job), LocalBackend(finished_job.parent))
    pd.testing.assert_frame_equal(by_path, by_name)
    pd.testing.assert_frame_equal(by_path, by_backend)


def test_sagemaker_table_equals_the_local_table(finished_job: Path, sagemaker_job: SageMakerJob) -> None:
    session, calls = sagemaker_job
    remote = results_table("fake-job", "sagemaker", boto_session=session)
    local = results_table(finished_job)
    assert list(remote.columns) == list(local.columns)
    assert remote.dtypes.to_dict() == local.dtypes.to_dict()
    pd.testing.assert_frame_equal(remote, local)  # quotes stripped, same order, same times
    # 20 trials, 5 a page: each listing's NextToken loop went to the end (describe lists them too,
    # to name the best trial by the library's rule)
    assert [c.get("NextToken") for c in calls] == [None, "5", "10", "15"] * (len(calls) // 4)
    assert calls


def test_backend_auto_falls_back_to_sagemaker_for_a_job_name(sagemaker_job: SageMakerJob) -> None:
    session, _ = sagemaker_job
    results = load("fake-job", boto_session=session, jobs_dir="no-such-folder")
    assert results.backend == "sagemaker"
    assert {p.name: p.values for p in results.parameters}["opt"] == ("a", "b", "c")


def test_unknown_sagemaker_job_is_a_typed_error(sagemaker_job: SageMakerJob) -> None:
    session, _ = sagemaker_job
    with pytest.raises(AwsError, match="DescribeHyperParameterTuningJob failed"):
        results_table("no-such-job", "sagemaker", boto_session=session)


def test_local_mistakes_are_backend_errors(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="not a local tuning job folder"):
        results_table(tmp_path)
    with pytest.raises(BackendError, match="no local tuning job"):
        results_table("missing", "local", jobs_dir=tmp_path)
    with pytest.raises(BackendError, match="unknown backend"):
        results_table("x", "azure")


def test_minimize_with_failures_sorts_failed_trials_last(failing_job: Path) -> None:
    table = results_table(failing_job)
    assert table["epochs"].dtype == "int64"
    assert table["mode"].dtype == "string"
    failed = table[table["TrainingJobStatus"] == "Failed"]
    done = table[table["TrainingJobStatus"] == "Completed"]
    assert len(failed) >= 1
    assert len(done) >= 2
    assert failed["FinalObjectiveValue"].isna().all()
    assert failed["FailureReason"].str.contains("CUDA error").all()
    assert done["FailureReason"].isna().all()
    assert (failed["mode"] == "crash").all()
    assert done["FinalObjectiveValue"].notna().all()
    # Rows with a value first (smallest eval_loss first: minimize), then those without: the failed ones. A
    # trial still running when the failure budget ends the job is Stopped, with the value it had reported
    # (or none); which trial that is depends on timing, so it is not counted among the completed.
    scored = table["FinalObjectiveValue"].notna()
    n = int(scored.sum())
    assert n >= len(done)
    assert scored.iloc[:n].all() and not scored.iloc[n:].any()
    assert set(failed["TrainingJobName"]) <= set(table["TrainingJobName"].iloc[n:])
    values = table["FinalObjectiveValue"].iloc[:n].tolist()
    assert values == sorted(values)
    assert set(table["TrainingJobStatus"].iloc[:n]) <= {"Completed", "Stopped"}
    best = best_trial(failing_job)  # completed trials only
    assert best["TrainingJobStatus"] == "Completed"
    assert best["FinalObjectiveValue"] == done["FinalObjectiveValue"].min()
    assert isinstance(best["epochs"], int)
    assert best["FailureReason"] is None


def test_failing_job_on_sagemaker_matches_too(failing_job: Path) -> None:
    for session, _ in sagemaker_twin(failing_job, page_size=3):
        remote = results_table("failing-job", "sagemaker", boto_session=session)
        pd.testing.assert_frame_equal(remote, results_table(failing_job))


def test_best_trial_and_summary(finished_job: Path) -> None:
    table = results_table(finished_job)
    best = best_trial(finished_job)
    assert best["TrainingJobName"] == table["TrainingJobName"].iloc[0]
    assert best["opt"] in {"a", "b", "c"}
    assert isinstance(best["x"], float)
    text = summary(finished_job)
    assert "Tuning job fake-job (local): Completed" in text
    assert "Trials: 20 (Completed 20)" in text
    assert "Objective: score (Maximize)" in text
    assert f"Best: {best['FinalObjectiveValue']:.6g} ({best['TrainingJobName']})" in text
    assert f"opt={best['opt']}" in text
    assert "Elapsed:" in text


def test_a_job_without_trials_has_an_empty_typed_table(sagemaker_job: SageMakerJob) -> None:
    session, _ = sagemaker_job
    body_job = session.client("sagemaker").describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="fake-job")
    assert body_job["HyperParameterTuningJobName"] == "fake-job"
    results = load("fake-job", "sagemaker", boto_session=session)
    results.trials = []
    table = results.table()
    assert table.empty
    assert {c: str(t) for c, t in table.dtypes.items()} == EXPECTED_DTYPES
    with pytest.raises(BackendError, match="no trial with an objective"):
        best_trial(results)
    assert "no trial has an objective value yet" in summary(results)


def test_auto_backend_names_both_places_it_looked(sagemaker_job: SageMakerJob, tmp_path: Path) -> None:
    session, _ = sagemaker_job
    with pytest.raises(BackendError, match=r"no local tuning job 'nope' in .*, and on SageMaker: .*Describe") as info:
        results_table("nope", jobs_dir=tmp_path, boto_session=session)
    assert isinstance(info.value.__cause__, AwsError)
