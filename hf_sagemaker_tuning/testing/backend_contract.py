"""The backend interface's contract, written once; every backend runs it.

Subclass ``BackendContract`` in a test module and provide two fixtures:

* ``backend`` -> the ``Backend`` under test;
* ``job_request`` -> a callable ``(job_name) -> TuningJobRequest`` for a small job that
  the backend can run to the end (a fake training script locally, moto on SageMaker).

Needs pytest (a test-only dependency).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ..backends.base import JOB_STATES, JOB_TERMINAL, TRIAL_STATES, Backend
from ..compile.request import TuningJobRequest
from ..errors import TuningError

JobRequest = Callable[[str], TuningJobRequest]


def _tuned_names(request: TuningJobRequest) -> set[str]:
    ranges = request.HyperParameterTuningJobConfig.ParameterRanges
    names = {r.Name for r in ranges.IntegerParameterRanges} | {r.Name for r in ranges.ContinuousParameterRanges}
    return names | {r.Name for r in ranges.CategoricalParameterRanges}


class BackendContract:
    """What every backend promises. Each test submits its own job."""

    @pytest.fixture
    def backend(self) -> Backend:  # pragma: no cover - provided by subclasses
        raise NotImplementedError

    @pytest.fixture
    def job_request(self) -> JobRequest:  # pragma: no cover - provided by subclasses
        raise NotImplementedError

    def test_submit_returns_the_request_job_name(self, backend: Backend, job_request: JobRequest) -> None:
        request = job_request("contract-submit")
        assert backend.submit(request) == "contract-submit"

    def test_describe_answers_in_sagemaker_shape(self, backend: Backend, job_request: JobRequest) -> None:
        request = job_request("contract-describe")
        job = backend.submit(request)
        answer = backend.describe(job)
        assert answer["HyperParameterTuningJobName"] == job
        assert answer["HyperParameterTuningJobStatus"] in JOB_STATES
        config = answer["HyperParameterTuningJobConfig"]
        assert config["Strategy"] == request.HyperParameterTuningJobConfig.Strategy
        assert config["HyperParameterTuningJobObjective"] == (
            request.HyperParameterTuningJobConfig.HyperParameterTuningJobObjective.model_dump()
        )
        assert answer["CreationTime"].tzinfo is not None

    def test_job_ends_and_trials_are_training_job_summaries(self, backend: Backend, job_request: JobRequest) -> None:
        request = job_request("contract-trials")
        job = backend.submit(request)
        final = backend.wait(job, poll_seconds=0.05, timeout=120)
        assert final["HyperParameterTuningJobStatus"] in JOB_TERMINAL
        trials = backend.list_trials(job)
        assert trials, "a finished job lists its trials"
        tuned = _tuned_names(request)
        for trial in trials:
            assert trial["TrainingJobStatus"] in TRIAL_STATES
            assert set(trial["TunedHyperParameters"]) == tuned
            assert all(isinstance(v, str) for v in trial["TunedHyperParameters"].values())
            if trial["TrainingJobStatus"] == "Completed":
                metric = trial["FinalHyperParameterTuningJobObjectiveMetric"]
                assert metric["MetricName"] == request.objective_metric
                assert isinstance(metric["Value"], float)
        completed = [t for t in trials if t["TrainingJobStatus"] == "Completed"]
        if completed:
            sign = 1 if request.maximize else -1
            best = max(completed, key=lambda t: sign * t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])
            assert final["BestTrainingJob"]["TrainingJobName"] == best["TrainingJobName"]

    def test_stopping_a_finished_job_changes_nothing(self, backend: Backend, job_request: JobRequest) -> None:
        job = backend.submit(job_request("contract-stop"))
        final = backend.wait(job, poll_seconds=0.05, timeout=120)
        backend.stop(job)
        assert backend.describe(job)["HyperParameterTuningJobStatus"] == final["HyperParameterTuningJobStatus"]

    def test_a_job_name_is_used_once(self, backend: Backend, job_request: JobRequest) -> None:
        backend.submit(job_request("contract-twice"))
        with pytest.raises(TuningError):
            backend.submit(job_request("contract-twice"))

    def test_unknown_job_is_a_tuning_error(self, backend: Backend) -> None:
        with pytest.raises(TuningError):
            backend.describe("contract-no-such-job")

    @staticmethod
    def summary_keys() -> tuple[str, ...]:
        return ("TrainingJobName", "TrainingJobStatus", "TunedHyperParameters", "CreationTime")

    def test_summaries_carry_the_required_keys(self, backend: Backend, job_request: JobRequest) -> None:
        job = backend.submit(job_request("contract-keys"))
        backend.wait(job, poll_seconds=0.05, timeout=120)
        for trial in backend.list_trials(job):
            missing: list[Any] = [k for k in self.summary_keys() if k not in trial]
            assert not missing, missing
