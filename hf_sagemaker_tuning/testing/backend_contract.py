"""The backend interface's contract, written once; every backend runs it.

Each test checks a guarantee stated in the docstrings of ``backends/base.py`` (what a method
returns, raises, and how its answers relate: read-after-write after ``submit``, idempotent
``stop``, trials oldest first and typed, the one best-trial rule, evaluations kept with the job).

Subclass ``BackendContract`` in a test module and provide these fixtures (the hooks for
what only the test environment can do):

* ``backend`` -> the ``Backend`` under test;
* ``job_spec`` -> the ``TuningJobSpec`` that ``job_request`` compiles;
* ``job_request`` -> a callable ``(job_name) -> TuningJobRequest`` for a small job (at least
  two trials) that the backend runs to the end on its own within ``WAIT_SECONDS`` (a fake
  training script locally, moto on SageMaker);
* ``submit_running`` -> a callable ``(job_name) -> job`` that submits a job like
  ``job_request``'s and returns once it is ``InProgress``; the job stays ``InProgress``
  until it is stopped, or for several seconds at least, and once resumed it can run to the
  end within ``WAIT_SECONDS`` (slow trials locally; a held job on SageMaker).

Every test submits its own jobs, with names of at most 32 characters, and waits at most
``WAIT_SECONDS`` for any of them. Needs pytest (a test-only dependency).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from ..backends.base import (
    JOB_STATES,
    JOB_TERMINAL,
    TRAINING_TERMINAL,
    Backend,
    CloudContext,
    ModelArtifact,
)
from ..compile.request import TuningJobRequest
from ..errors import BackendError, TuningError
from ..specs import TuningJobSpec
from ..trials import Trial, best_trial

JobRequest = Callable[[str], TuningJobRequest]
SubmitRunning = Callable[[str], str]
POLL = 0.05

#: Each backend call on a job nobody submitted, which must raise a ``TuningError``.
_ON_UNKNOWN_JOB: dict[str, Callable[[Backend, str], object]] = {
    "describe": lambda b, job: b.describe(job),
    "list_trials": lambda b, job: b.list_trials(job),
    "stop": lambda b, job: b.stop(job),
    "logs": lambda b, job: b.logs(job, f"{job}-001-0a1b2c3d"),
    "wait": lambda b, job: b.wait(job, poll_seconds=POLL, timeout=5),
    "resume": lambda b, job: b.resume(job),
    "metric_history": lambda b, job: b.metric_history(job, f"{job}-001-0a1b2c3d"),
    "spec": lambda b, job: b.spec(job),
    "best_model": lambda b, job: b.best_model(job),
    "start_training": lambda b, job: b.start_training(job, {"epochs": "1"}),
    "describe_training": lambda b, job: b.describe_training(job, f"{job}-rt"),
    "best_trial": lambda b, job: b.best_trial(job),
    "trial_artifact": lambda b, job: b.trial_artifact(job, f"{job}-001-0a1b2c3d"),
    "save_evaluation": lambda b, job: b.save_evaluation(job, "test-0123456789ab", "{}"),
    "evaluations": lambda b, job: b.evaluations(job),
}


def _tuned_names(request: TuningJobRequest) -> set[str]:
    ranges = request.HyperParameterTuningJobConfig.ParameterRanges
    names = {r.Name for r in ranges.IntegerParameterRanges} | {r.Name for r in ranges.ContinuousParameterRanges}
    return names | {r.Name for r in ranges.CategoricalParameterRanges}


def _objective(trial: Trial) -> float:
    assert trial.objective is not None, trial
    return trial.objective


class BackendContract:
    """What every backend promises. Each test submits its own job."""

    #: The longest any test waits for a job or a training job to end.
    WAIT_SECONDS = 60.0

    @pytest.fixture
    def backend(self) -> Backend:  # pragma: no cover - provided by subclasses
        raise NotImplementedError

    @pytest.fixture
    def job_spec(self) -> TuningJobSpec:  # pragma: no cover - provided by subclasses
        raise NotImplementedError

    @pytest.fixture
    def job_request(self) -> JobRequest:  # pragma: no cover - provided by subclasses
        raise NotImplementedError

    @pytest.fixture
    def submit_running(self) -> SubmitRunning:  # pragma: no cover - provided by subclasses
        raise NotImplementedError

    def finished(self, backend: Backend, job_request: JobRequest, name: str) -> tuple[TuningJobRequest, str]:
        """Submit ``job_request(name)`` and wait until it ends ``Completed``."""
        request = job_request(name)
        job = backend.submit(request)
        final = backend.wait(job, poll_seconds=POLL, timeout=self.WAIT_SECONDS)
        assert final["HyperParameterTuningJobStatus"] == "Completed", final.get("FailureReason")
        return request, job

    def stopped(self, backend: Backend, submit_running: SubmitRunning, name: str) -> str:
        job = submit_running(name)
        backend.stop(job)
        final = backend.wait(job, poll_seconds=POLL, timeout=self.WAIT_SECONDS)
        assert final["HyperParameterTuningJobStatus"] == "Stopped"
        return job

    # ------------------------------------------------------------------ submit, spec, describe
    def test_submit_returns_the_request_job_name(self, backend: Backend, job_request: JobRequest) -> None:
        assert backend.submit(job_request("contract-submit")) == "contract-submit"

    def test_a_job_name_is_used_once(self, backend: Backend, job_request: JobRequest) -> None:
        backend.submit(job_request("contract-twice"))
        with pytest.raises(TuningError):
            backend.submit(job_request("contract-twice"))

    def test_the_spec_is_kept_with_the_job(
        self, backend: Backend, job_request: JobRequest, job_spec: TuningJobSpec
    ) -> None:
        with_spec = backend.submit(job_request("contract-spec"), job_spec)
        without = backend.submit(job_request("contract-nospec"))
        assert backend.spec(with_spec) == job_spec
        assert backend.spec(without) is None

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

    def test_a_submitted_job_answers_at_once(
        self, backend: Backend, job_request: JobRequest, job_spec: TuningJobSpec
    ) -> None:
        job = backend.submit(job_request("contract-at-once"), job_spec)
        assert backend.describe(job)["HyperParameterTuningJobStatus"] in JOB_STATES
        assert isinstance(backend.list_trials(job), list)
        assert backend.spec(job) == job_spec
        assert backend.job_name(job) == backend.describe(job)["HyperParameterTuningJobName"] == "contract-at-once"
        assert backend.evaluations(job) == {}

    def test_cloud_is_none_or_names_a_region(self, backend: Backend) -> None:
        cloud = backend.cloud
        assert cloud is None or (isinstance(cloud, CloudContext) and cloud.region)

    # ------------------------------------------------------------------ wait, trials
    def test_wait_returns_the_terminal_description(self, backend: Backend, job_request: JobRequest) -> None:
        job = backend.submit(job_request("contract-wait"))
        final = backend.wait(job, poll_seconds=POLL, timeout=self.WAIT_SECONDS)
        assert final["HyperParameterTuningJobStatus"] in JOB_TERMINAL
        assert final["HyperParameterTuningJobName"] == job
        assert backend.describe(job)["HyperParameterTuningJobStatus"] == final["HyperParameterTuningJobStatus"]

    def test_wait_timeout_is_a_backend_error_and_the_job_keeps_running(
        self, backend: Backend, submit_running: SubmitRunning
    ) -> None:
        job = submit_running("contract-timeout")
        with pytest.raises(BackendError, match="did not finish"):
            backend.wait(job, poll_seconds=POLL, timeout=0.3)
        assert backend.describe(job)["HyperParameterTuningJobStatus"] == "InProgress"
        backend.stop(job)
        backend.wait(job, poll_seconds=POLL, timeout=self.WAIT_SECONDS)

    def test_trials_are_typed_and_oldest_first(self, backend: Backend, job_request: JobRequest) -> None:
        request, job = self.finished(backend, job_request, "contract-trials")
        trials = backend.list_trials(job)
        assert len(trials) == request.HyperParameterTuningJobConfig.ResourceLimits.MaxNumberOfTrainingJobs
        assert len({t.name for t in trials}) == len(trials)
        tuned = _tuned_names(request)
        for trial in trials:
            assert isinstance(trial, Trial)
            assert trial.status in TRAINING_TERMINAL, "a finished job's trials have all ended"
            assert trial.creation_time is not None and trial.creation_time.tzinfo is not None
            assert set(trial.hyperparameters) == tuned
            assert all(isinstance(v, str) for v in trial.hyperparameters.values())
            if trial.status == "Completed":
                assert trial.objective_metric == request.objective_metric
                assert isinstance(trial.objective, float)
        order = [(t.creation_time, t.name) for t in trials]
        assert order == sorted(order), "oldest first"
        assert backend.list_trials(job) == trials, "a finished job lists the same trials again"

    def test_the_best_trial_follows_the_one_rule(self, backend: Backend, job_request: JobRequest) -> None:
        request, job = self.finished(backend, job_request, "contract-best-rule")
        trials = backend.list_trials(job)
        completed = [t for t in trials if t.status == "Completed"]
        assert completed
        sign = 1 if request.maximize else -1
        top = max(sign * _objective(t) for t in completed)
        earliest = next(t for t in trials if t.status == "Completed" and sign * _objective(t) == top)
        best = backend.best_trial(job)
        assert best == best_trial(trials, request.maximize) == earliest
        described = backend.describe(job).get("BestTrainingJob")
        assert described is None or described["TrainingJobName"] == best.name
        assert backend.best_model(job).training_job_name == best.name

    # ------------------------------------------------------------------ stop, resume
    def test_stopping_a_running_job_ends_it_stopped(self, backend: Backend, submit_running: SubmitRunning) -> None:
        job = submit_running("contract-stop-running")
        assert backend.describe(job)["HyperParameterTuningJobStatus"] == "InProgress"
        backend.stop(job)
        assert backend.describe(job)["HyperParameterTuningJobStatus"] in ("Stopping", "Stopped")
        backend.stop(job)  # idempotent: stopping a stopping job is no error
        final = backend.wait(job, poll_seconds=POLL, timeout=self.WAIT_SECONDS)
        assert final["HyperParameterTuningJobStatus"] == "Stopped"
        assert all(t.status in TRAINING_TERMINAL for t in backend.list_trials(job))
        backend.stop(job)
        assert backend.describe(job)["HyperParameterTuningJobStatus"] == "Stopped"

    def test_stopping_a_finished_job_changes_nothing(self, backend: Backend, job_request: JobRequest) -> None:
        _, job = self.finished(backend, job_request, "contract-stop-done")
        trials = backend.list_trials(job)
        backend.stop(job)
        assert backend.describe(job)["HyperParameterTuningJobStatus"] == "Completed"
        assert backend.list_trials(job) == trials

    def test_resuming_a_stopped_job_runs_the_rest_of_its_budget(
        self, backend: Backend, submit_running: SubmitRunning
    ) -> None:
        job = self.stopped(backend, submit_running, "contract-resume")
        budget = int(
            backend.describe(job)["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxNumberOfTrainingJobs"]
        )
        launched = len(backend.list_trials(job))
        follow = backend.resume(job)
        final = backend.wait(follow, poll_seconds=POLL, timeout=self.WAIT_SECONDS)
        assert final["HyperParameterTuningJobStatus"] == "Completed"
        if follow == job:  # the same job went on: its finished trials kept, the rest run
            trials = backend.list_trials(job)
            assert len(trials) == budget
            assert all(t.status == "Completed" for t in trials)
        else:  # a new job that warm-starts from the stopped one with the trials left
            assert final["WarmStartConfig"] == {
                "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": job}],
                "WarmStartType": "IdenticalDataAndAlgorithm",
            }
            limits = final["HyperParameterTuningJobConfig"]["ResourceLimits"]
            assert limits["MaxNumberOfTrainingJobs"] == budget - launched
            assert len(backend.list_trials(follow)) == budget - launched
            assert backend.describe(job)["HyperParameterTuningJobStatus"] == "Stopped"

    def test_resuming_a_running_job_is_refused(self, backend: Backend, submit_running: SubmitRunning) -> None:
        job = submit_running("contract-resume-running")
        with pytest.raises(TuningError):
            backend.resume(job)
        backend.stop(job)
        backend.wait(job, poll_seconds=POLL, timeout=self.WAIT_SECONDS)

    # ------------------------------------------------------------------ logs, metric history
    def test_logs_and_metric_history_of_a_trial(self, backend: Backend, job_request: JobRequest) -> None:
        request, job = self.finished(backend, job_request, "contract-history")
        definitions = request.TrainingJobDefinition.AlgorithmSpecification.MetricDefinitions
        completed = [t for t in backend.list_trials(job) if t.status == "Completed"]
        for trial in completed[:2]:
            name = trial.name
            text = backend.logs(job, name)
            history = backend.metric_history(job, name)
            assert set(history) <= {d.Name for d in definitions}
            for definition in definitions:  # every value its regex reads from the trial's output, in order
                printed = [float(m.group(1)) for line in text.splitlines() if (m := re.search(definition.Regex, line))]
                assert history.get(definition.Name, []) == printed, definition.Name
            assert history[request.objective_metric], "the objective was reported"
            assert history[request.objective_metric][-1] == pytest.approx(_objective(trial), rel=1e-9)

    # ------------------------------------------------------------------ models and training jobs
    def test_best_model_is_the_best_trial(self, backend: Backend, job_request: JobRequest) -> None:
        _, job = self.finished(backend, job_request, "contract-best")
        best = backend.best_trial(job)
        assert best is not None
        artifact = backend.best_model(job)
        assert isinstance(artifact, ModelArtifact)
        assert artifact.source == "trial"
        assert artifact.training_job_name == best.name
        assert artifact.location
        if artifact.objective is not None:
            assert artifact.objective == pytest.approx(_objective(best), rel=1e-9)
        assert backend.trial_artifact(job, best.name) == artifact
        assert backend.model_location(artifact.location) == artifact.location
        if best.artifact is not None:
            assert best.artifact == artifact.location

    def test_a_trial_that_did_not_complete_has_no_artifact(
        self, backend: Backend, submit_running: SubmitRunning
    ) -> None:
        job = self.stopped(backend, submit_running, "contract-no-artifact")
        for trial in backend.list_trials(job):
            if trial.status != "Completed":
                with pytest.raises(BackendError):
                    backend.trial_artifact(job, trial.name)

    def test_start_training_runs_and_becomes_the_best_model(self, backend: Backend, job_request: JobRequest) -> None:
        _, job = self.finished(backend, job_request, "contract-train")
        answer = backend.describe(job)
        best = backend.best_trial(job)
        assert best is not None
        hyperparameters = {**answer["TrainingJobDefinition"]["StaticHyperParameters"], **best.hyperparameters}
        training = backend.start_training(job, hyperparameters, name="contract-train-longer")
        assert training == "contract-train-longer"
        done = backend.wait_training(job, training, poll_seconds=POLL, timeout=self.WAIT_SECONDS)
        assert done["TrainingJobName"] == training
        assert done["TrainingJobStatus"] == "Completed", done.get("FailureReason")
        assert {k: done["HyperParameters"].get(k) for k in hyperparameters} == hyperparameters
        model = done["ModelArtifacts"]["S3ModelArtifacts"]
        assert model
        assert backend.describe_training(job, training)["TrainingJobStatus"] == "Completed"
        artifact = backend.best_model(job)
        assert (artifact.source, artifact.training_job_name) == ("retrain", training)
        assert artifact.location == str(model)
        assert backend.trial_artifact(job, training) == artifact
        assert training not in {t.name for t in backend.list_trials(job)}, "a retrain is not a trial"

    # ------------------------------------------------------------------ evaluations
    def test_evaluations_are_kept_with_the_job(self, backend: Backend, job_request: JobRequest) -> None:
        job = backend.submit(job_request("contract-evaluations"))
        other = backend.submit(job_request("contract-evaluations-2"))
        backend.save_evaluation(job, "test-0123456789ab", '{"score": 1}')
        backend.save_evaluation(job, "validation-0123456789ab", '{"score": 2}')
        backend.save_evaluation(job, "test-0123456789ab", '{"score": 3}')  # replaces the first
        assert backend.evaluations(job) == {
            "test-0123456789ab": '{"score": 3}',
            "validation-0123456789ab": '{"score": 2}',
        }
        assert backend.evaluations(other) == {}
        with pytest.raises(BackendError):
            backend.save_evaluation(job, "../escape", "{}")

    def test_describe_training_of_an_unknown_run_is_a_tuning_error(
        self, backend: Backend, job_request: JobRequest
    ) -> None:
        job = backend.submit(job_request("contract-no-run"))
        with pytest.raises(TuningError):
            backend.describe_training(job, "contract-no-such-run")

    # ------------------------------------------------------------------ unknown jobs
    @pytest.mark.parametrize("call", sorted(_ON_UNKNOWN_JOB))
    def test_unknown_job_is_a_tuning_error(self, backend: Backend, call: str) -> None:
        with pytest.raises(TuningError):
            _ON_UNKNOWN_JOB[call](backend, "contract-no-such-job")
