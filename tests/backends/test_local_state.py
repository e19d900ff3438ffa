"""Typed local state: job.json and trial.json are validated on read, resumability is explicit."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from hf_sagemaker_tuning.backends.local import JobState, LocalBackend, Resumability, TrialRecord
from hf_sagemaker_tuning.backends.local.state import read_model, write_model
from hf_sagemaker_tuning.compile import TuningJobRequest
from hf_sagemaker_tuning.errors import BackendError

MakeRequest = Callable[..., TuningJobRequest]
pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def finished(tmp_path: Path, make_request: MakeRequest) -> tuple[LocalBackend, Path]:
    backend = LocalBackend(tmp_path / "jobs", poll_seconds=0.02, grace_seconds=2)
    backend.run(make_request(**{"tuning.max_jobs": 2, "tuning.max_parallel_jobs": 1}))
    return backend, tmp_path / "jobs" / "fake-job"


def test_state_files_validate_and_round_trip(finished: tuple[LocalBackend, Path]) -> None:
    backend, job = finished
    state = read_model(job / "job.json", JobState)
    assert state.HyperParameterTuningJobStatus == "Completed"
    assert state.Resumability is Resumability.NOT_RESUMABLE
    assert state.CoordinatorPid is None and state.CreationTime is not None and state.CreationTime.tzinfo
    raw = json.loads((job / "job.json").read_text())
    assert raw["Resumability"] == "NotResumable"
    records = backend.folder("fake-job").trial_records()
    assert len(records) == 2 and all(isinstance(r, TrialRecord) for r in records)
    assert records[0].HyperParameters["_tuning_objective_metric"] == "score"
    copy = job / "copy.json"
    write_model(copy, records[0])
    assert read_model(copy, TrialRecord) == records[0]


def test_invalid_trial_json_names_the_file(finished: tuple[LocalBackend, Path]) -> None:
    backend, job = finished
    trial_file = next((job / "trials").iterdir()) / "trial.json"
    data = json.loads(trial_file.read_text())
    data["TrainingJobStatus"] = "Exploded"
    trial_file.write_text(json.dumps(data))
    for call in (backend.describe, backend.list_trials):
        with pytest.raises(BackendError, match="TrainingJobStatus") as caught:
            call("fake-job")
        assert str(trial_file) in str(caught.value)


def test_unreadable_job_json_names_the_file(finished: tuple[LocalBackend, Path]) -> None:
    backend, job = finished
    (job / "job.json").write_text("{not json")
    with pytest.raises(BackendError, match="Invalid JSON") as caught:
        backend.describe("fake-job")
    assert str(job / "job.json") in str(caught.value)


def test_invalid_trial_json_makes_status_a_user_error_not_a_traceback(finished: tuple[LocalBackend, Path]) -> None:
    from typer.testing import CliRunner

    from hf_sagemaker_tuning.cli import app

    _, job = finished
    trial_file = next((job / "trials").iterdir()) / "trial.json"
    trial_file.write_text("[]")
    result = CliRunner().invoke(app, ["status", str(job)])
    assert result.exit_code == 2, result.output
    assert "trial.json" in result.output and "Traceback" not in result.output


def test_resumability_is_stored_not_matched_from_text(finished: tuple[LocalBackend, Path]) -> None:
    backend, job = finished
    state = read_model(job / "job.json", JobState)
    state.HyperParameterTuningJobStatus = "Stopped"
    state.CompletionReason = "stopped by request"  # the old text alone no longer makes a job resumable
    write_model(job / "job.json", state)
    assert backend.describe("fake-job")["Resumable"] is False
    state.Resumability = Resumability.STOPPED_BY_REQUEST
    write_model(job / "job.json", state)
    answer = backend.describe("fake-job")
    assert answer["Resumable"] is True and answer["Resumability"] == "StoppedByRequest"


def test_a_running_job_whose_coordinator_is_gone_reads_interrupted(finished: tuple[LocalBackend, Path]) -> None:
    backend, job = finished
    state = read_model(job / "job.json", JobState)
    state.HyperParameterTuningJobStatus = "InProgress"
    state.CoordinatorPid, state.CoordinatorStarted = 1, -5  # pid 1 runs, but it is not the recorded process
    write_model(job / "job.json", state)
    answer = backend.describe("fake-job")
    assert answer["HyperParameterTuningJobStatus"] == "Stopped"
    assert answer["Resumability"] == "Interrupted" and answer["Resumable"] is True


def test_job_json_of_the_previous_version_still_reads(tmp_path: Path) -> None:
    old = {
        "HyperParameterTuningJobStatus": "Completed",
        "CreationTime": "2026-01-02T03:04:05.000001+00:00",
        "LastModifiedTime": "2026-01-02T03:05:05+00:00",
        "HyperParameterTuningEndTime": "2026-01-02T03:05:05+00:00",
        "FailureReason": None,
        "CompletionReason": "MaxNumberOfTrainingJobsReached",
        "CoordinatorPid": None,
        "Options": {"python": "python3", "trials_per_gpu": 1, "gpus": None, "max_failed_trials": None},
        "ConsumedRuntimeSeconds": 12.5,
    }
    path = tmp_path / "job.json"
    path.write_text(json.dumps(old))
    state = read_model(path, JobState)
    assert state.Resumability is Resumability.NOT_RESUMABLE and state.ConsumedRuntimeSeconds == 12.5
