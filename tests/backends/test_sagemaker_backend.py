"""SageMakerBackend against jobs moto holds: what the shared contract can't say about SageMaker alone."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator

import pytest

from hf_sagemaker_tuning.compile import compile_request
from hf_sagemaker_tuning.errors import BackendError, TuningError
from hf_sagemaker_tuning.specs import parse_job_spec

from .moto_amt import LOG_GROUP
from .sagemaker_env import BUCKET, MotoSageMaker, example_spec, moto_sagemaker

pytestmark = [pytest.mark.aws, pytest.mark.timeout(60)]


@pytest.fixture
def env() -> Iterator[MotoSageMaker]:
    with moto_sagemaker() as env:
        yield env


def _submit(env: MotoSageMaker, name: str, *, hold: bool = False) -> str:
    if hold:
        env.amt.hold(name)
    return env.backend.submit(compile_request(example_spec(), job_name=name))


def _stopped(env: MotoSageMaker, name: str) -> str:
    job = _submit(env, name, hold=True)
    env.backend.stop(job)
    assert env.backend.wait(job, poll_seconds=0.01, timeout=5)["HyperParameterTuningJobStatus"] == "Stopped"
    return job


# ---------------------------------------------------------------------- the bridge answers like the API
def test_the_best_trial_and_every_trial_are_real_moto_training_jobs(env: MotoSageMaker) -> None:
    job = _submit(env, "sm-trials")
    moto = env.amt.moto_session.client("sagemaker")  # moto seen directly, without the bridge
    answer = env.session.client("sagemaker").describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=job)
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert answer["BestTrainingJob"]["CreationTime"].tzinfo is not None  # botocore parsed the epoch number
    assert "OverallBestTrainingJob" not in answer  # moto's invented FakeTrainingJobName is gone
    static = answer["TrainingJobDefinition"]["StaticHyperParameters"]
    trials = env.backend.list_trials(job)
    assert answer["TrainingJobStatusCounters"]["Completed"] == len(trials) == 5
    for trial in trials:
        described = moto.describe_training_job(TrainingJobName=trial.name)
        assert described["TrainingJobArn"] == trial.arn
        assert described["HyperParameters"] == {
            **static,
            **trial.hyperparameters,
            "_tuning_objective_metric": "eval_macro_recall",
        }
        assert described["ModelArtifacts"]["S3ModelArtifacts"].startswith("s3://my-bucket/hpo/")
    tuned = trials[0].hyperparameters
    assert 1e-5 <= float(tuned["learning_rate"]) <= 1e-4
    assert tuned["optimizer"] in ("adamw", "adafactor")
    best = env.backend.best_model(job)
    assert (
        best.location
        == moto.describe_training_job(TrainingJobName=best.training_job_name)["ModelArtifacts"]["S3ModelArtifacts"]
    )
    assert best.training_image == answer["TrainingJobDefinition"]["AlgorithmSpecification"]["TrainingImage"]


def test_the_trial_listing_comes_in_pages_that_the_backend_follows(env: MotoSageMaker) -> None:
    job = _submit(env, "sm-pages")
    first = env.session.client("sagemaker").list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=job, MaxResults=100
    )
    assert len(first["TrainingJobSummaries"]) == env.amt.page_size
    assert first["NextToken"]
    assert len(env.backend.list_trials(job)) == 5


def test_errors_the_bridge_answers_reach_callers_as_the_service_codes(env: MotoSageMaker) -> None:
    from botocore.exceptions import ClientError

    client = env.session.client("sagemaker")
    for call in (
        client.stop_hyper_parameter_tuning_job,
        client.list_training_jobs_for_hyper_parameter_tuning_job,
    ):
        with pytest.raises(ClientError) as caught:
            call(HyperParameterTuningJobName="sm-no-such-job")
        assert caught.value.response["Error"]["Code"] == "ResourceNotFound"
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_stopped_job_goes_through_stopping(env: MotoSageMaker) -> None:
    job = _submit(env, "sm-stop", hold=True)
    assert env.backend.describe(job)["HyperParameterTuningJobStatus"] == "InProgress"
    assert "HyperParameterTuningEndTime" not in env.backend.describe(job)
    env.backend.stop(job)
    seen = [env.backend.describe(job)["HyperParameterTuningJobStatus"] for _ in range(3)]
    assert seen == ["Stopping", "Stopped", "Stopped"]


# ---------------------------------------------------------------------- metric history from CloudWatch
def test_metric_history_is_every_line_the_trial_wrote_to_cloudwatch(env: MotoSageMaker) -> None:
    job = _submit(env, "sm-history")
    trials = env.backend.list_trials(job)
    written = env.amt.jobs[job].written
    for trial in trials:
        name = trial.name
        history = env.backend.metric_history(job, name)
        assert history == written[name]
        assert len(history["eval_macro_recall"]) == 3
    assert "epoch 1 done" in env.backend.logs(job, trials[0].name)


def test_logs_of_a_trial_under_an_unknown_job_are_a_tuning_error(env: MotoSageMaker) -> None:
    job = _submit(env, "sm-logs")
    trial = env.backend.list_trials(job)[0].name
    env.session.client("logs").describe_log_groups(logGroupNamePrefix=LOG_GROUP)  # the group exists
    with pytest.raises(TuningError):
        env.backend.logs("sm-no-such-job", trial)


# ---------------------------------------------------------------------- resume = a warm-started job
def test_resume_sends_a_botocore_valid_warm_start_with_the_budget_left(env: MotoSageMaker) -> None:
    from botocore.validate import validate_parameters

    job = _stopped(env, "sm-resume")
    follow = env.backend.resume(job)
    assert follow != job
    assert len(follow) <= 32
    sent = env.amt.sent[follow]
    model = env.session.client("sagemaker").meta.service_model
    validate_parameters(sent, model.operation_model("CreateHyperParameterTuningJob").input_shape)
    assert sent["WarmStartConfig"] == {
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": job}],
        "WarmStartType": "IdenticalDataAndAlgorithm",
    }
    parent = env.amt.sent[job]
    assert sent["TrainingJobDefinition"] == parent["TrainingJobDefinition"]
    assert sent["HyperParameterTuningJobConfig"] == {
        **parent["HyperParameterTuningJobConfig"],
        "ResourceLimits": {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2},
    }


def test_a_completed_job_is_not_resumed(env: MotoSageMaker) -> None:
    job = _submit(env, "sm-resume-done")
    with pytest.raises(BackendError, match="only a Stopped or Failed job"):
        env.backend.resume(job)


# ---------------------------------------------------------------------- training jobs (retrain)
def test_the_newest_of_two_retrains_is_the_best_model(env: MotoSageMaker) -> None:
    job = _submit(env, "sm-retrain")
    first = env.backend.start_training(job, {"epochs": "3"})
    second = env.backend.start_training(job, {"epochs": "4"})
    assert env.backend.best_model(job).training_job_name == second
    assert env.backend.describe_training(job, first)["TrainingJobStatus"] == "Completed"


def test_a_retrain_with_a_chosen_name_is_the_best_model(env: MotoSageMaker) -> None:
    job = _submit(env, "sm-retrain-named")
    env.backend.start_training(job, {"epochs": "3"})
    named = env.backend.start_training(job, {"epochs": "4"}, name="my-longer-run")
    assert env.backend.best_model(job).training_job_name == named == "my-longer-run"
    other = _submit(env, "sm-retrain-other")  # another job's retrain is not this job's model
    env.backend.start_training(other, {"epochs": "3"}, name="other-run")
    assert env.backend.best_model(job).training_job_name == named
    assert env.backend.best_model(other).training_job_name == "other-run"


def test_start_training_asks_for_a_job_like_the_trials(env: MotoSageMaker) -> None:
    job = _submit(env, "sm-train-like")
    training = env.backend.start_training(job, {"epochs": "4"})
    done = env.backend.wait_training(job, training, poll_seconds=0.01, timeout=5)
    definition = env.amt.sent[job]["TrainingJobDefinition"]
    assert done["HyperParameters"] == {"epochs": "4"}
    assert done["RoleArn"] == definition["RoleArn"]
    assert done["AlgorithmSpecification"]["TrainingImage"] == definition["AlgorithmSpecification"]["TrainingImage"]
    assert done["OutputDataConfig"]["S3OutputPath"] == definition["OutputDataConfig"]["S3OutputPath"]
    tags = env.session.client("sagemaker").list_tags(ResourceArn=done["TrainingJobArn"])["Tags"]
    assert {"Key": "hfst-retrain-of", "Value": job} in tags


# ---------------------------------------------------------------------- submit
def test_sagemaker_backend_uploads_the_training_code_where_the_request_says(env: MotoSageMaker) -> None:
    _submit(env, "upload-check")
    key = "hpo/upload-check/source/sourcedir.tar.gz"
    blob = env.session.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        names = tar.getnames()
    assert {"train.py", "inference.py", "hyperparameters.json", "metrics.json"} <= set(names)
    assert not [n for n in names if "__pycache__" in n or n.startswith(".") or "/." in n]
    assert env.amt.sent["upload-check"]["HyperParameterTuningJobConfig"]["Strategy"] == "Bayesian"


def test_the_spec_lives_beside_the_output(env: MotoSageMaker) -> None:
    spec = example_spec()
    job = env.backend.submit(compile_request(spec, job_name="sm-spec"), spec)
    body = env.session.client("s3").get_object(Bucket=BUCKET, Key=f"hpo/{job}/spec.yaml")["Body"].read()
    assert b"tweet-eval-distilbert" in body
    assert env.backend.spec(job) == spec


def test_a_cross_validated_job_serves_only_its_refit(env: MotoSageMaker) -> None:
    data = example_spec().model_dump(mode="json", exclude_none=True)
    data["tuning"].update(early_stopping="off", cross_validation={"folds": 2})
    request = compile_request(parse_job_spec(data), job_name="sm-cv")
    assert request.objective_metric == "eval_cv_macro_recall"
    job = env.backend.submit(request)
    assert env.backend.best_trial(job) is not None
    with pytest.raises(BackendError, match="cross-validated and keeps no servable model: refit it first"):
        env.backend.best_model(job)
    refit = env.backend.start_training(job, {"cv_refit": "true", "max_steps": "12"})
    assert env.backend.best_model(job).training_job_name == refit
