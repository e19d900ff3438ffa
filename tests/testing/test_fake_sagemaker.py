"""``hf_sagemaker_tuning.testing.fake_sagemaker``: AMT's documented shapes and rules, and a clean environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hf_sagemaker_tuning.backends.sagemaker import SageMakerBackend
from hf_sagemaker_tuning.compile import compile_request
from hf_sagemaker_tuning.errors import TuningError
from hf_sagemaker_tuning.testing import FakeSageMaker, TrialOutcome, fake_sagemaker

from ..backends.sagemaker_env import BUCKET, example_spec

pytestmark = [pytest.mark.aws, pytest.mark.timeout(120)]


@pytest.fixture
def fake() -> Iterator[FakeSageMaker]:
    with fake_sagemaker(bucket=BUCKET) as fake:
        yield fake


def _submit(fake: FakeSageMaker, name: str, plan: list[Any] | None = None, *, max_jobs: int = 5) -> str:
    if plan is not None:
        fake.plan(name, plan)
    return SageMakerBackend().submit(compile_request(example_spec(max_jobs=max_jobs), job_name=name))


def _described(fake: FakeSageMaker, job: str) -> dict[str, Any]:
    answer: dict[str, Any] = fake.session.client("sagemaker").describe_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=job
    )
    return answer


# ---------------------------------------------------------------------- BestTrainingJob, as AMT documents it
def test_the_best_is_the_best_completed_trial_and_a_tie_goes_to_the_earliest(fake: FakeSageMaker) -> None:
    plan = [
        0.7,
        0.9,  # tied with the fifth: the earlier one wins (AMT does not document ties)
        TrialOutcome(objective=0.95, status="Stopped"),  # higher, but not completed
        TrialOutcome(status="Failed"),
        0.9,
    ]
    job = _submit(fake, "best-max", plan)
    answer = _described(fake, job)
    best = answer["BestTrainingJob"]
    assert best["TrainingJobName"].startswith(f"{job}-002-")
    assert best["FinalHyperParameterTuningJobObjectiveMetric"] == {
        "Type": "Maximize",
        "MetricName": "eval_macro_recall",
        "Value": 0.9,
    }
    assert answer["TrainingJobStatusCounters"] == {
        "Completed": 3,
        "InProgress": 0,
        "RetryableError": 0,
        "NonRetryableError": 1,
        "Stopped": 1,
    }
    assert answer["ObjectiveStatusCounters"] == {"Succeeded": 4, "Pending": 0, "Failed": 1}


def test_a_minimized_objective_picks_the_lowest(fake: FakeSageMaker) -> None:
    spec = example_spec(max_jobs=3)
    data = spec.model_dump(mode="json", exclude_none=True)
    data["objective"] = {"metric": "eval_loss", "direction": "minimize"}
    from hf_sagemaker_tuning.specs import parse_job_spec

    fake.plan("best-min", [0.3, 0.1, 0.2])
    job = SageMakerBackend().submit(compile_request(parse_job_spec(data), job_name="best-min"))
    best = _described(fake, job)["BestTrainingJob"]
    assert best["TrainingJobName"].startswith(f"{job}-002-")
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Type"] == "Minimize"


def test_no_completed_trial_means_no_best(fake: FakeSageMaker) -> None:
    job = _submit(fake, "best-none", [TrialOutcome(status="Failed"), TrialOutcome(0.9, status="Stopped")], max_jobs=2)
    assert "BestTrainingJob" not in _described(fake, job)


def test_the_best_follows_the_rule_for_any_outcomes(fake: FakeSageMaker) -> None:
    outcomes = st.lists(
        st.one_of(
            st.sampled_from([0.1, 0.5, 0.9]).map(lambda v: TrialOutcome(objective=v)),
            st.sampled_from(["Failed", "Stopped"]).map(lambda s: TrialOutcome(objective=0.99, status=s)),
        ),
        min_size=2,  # the example spec runs two trials at a time
        max_size=5,
    )
    names = iter(range(1000))

    @settings(max_examples=12, deadline=None, database=None)
    @given(outcomes)
    def check(plan: list[TrialOutcome]) -> None:
        job = _submit(fake, f"prop-{next(names)}", plan, max_jobs=len(plan))
        completed = [i for i, o in enumerate(plan, 1) if o.status == "Completed"]
        answer = _described(fake, job)
        if not completed:
            assert "BestTrainingJob" not in answer
            return
        top = max(plan[i - 1].objective or 0.0 for i in completed)
        first = min(i for i in completed if plan[i - 1].objective == top)
        assert answer["BestTrainingJob"]["TrainingJobName"].startswith(f"{job}-{first:03d}-")

    check()


def test_a_warm_started_job_names_the_best_of_its_family(fake: FakeSageMaker) -> None:
    backend = SageMakerBackend()
    fake.hold("family")
    fake.plan("family", [0.97])
    parent = backend.submit(compile_request(example_spec(max_jobs=3), job_name="family"))
    backend.stop(parent)
    backend.wait(parent, poll_seconds=0.01, timeout=10)
    child = backend.resume(parent)
    # The service's own answer (our backend's describe leaves BestTrainingJob out: one best-trial rule).
    answer = fake.session.client("sagemaker").describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=child)
    assert answer["BestTrainingJob"]["TuningJobName"] == child
    assert answer["OverallBestTrainingJob"]["TrainingJobName"].startswith(f"{parent}-001-")


def test_a_held_jobs_trial_runs_until_the_job_is_stopped(fake: FakeSageMaker) -> None:
    fake.hold("held")
    job = _submit(fake, "held", [0.8])
    client = fake.session.client("sagemaker")
    (running,) = client.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName=job)[
        "TrainingJobSummaries"
    ]
    # InProgress while its tuning job is: no final objective, no end time, objective pending
    assert running["TrainingJobStatus"] == "InProgress" and running["ObjectiveStatus"] == "Pending"
    assert "FinalHyperParameterTuningJobObjectiveMetric" not in running and "TrainingEndTime" not in running
    training = client.describe_training_job(TrainingJobName=running["TrainingJobName"])
    assert training["TrainingJobStatus"] == "InProgress" and training["SecondaryStatus"] == "Training"
    assert "TrainingEndTime" not in training and "FinalMetricDataList" not in training
    answer = _described(fake, job)
    assert answer["HyperParameterTuningJobStatus"] == "InProgress" and "BestTrainingJob" not in answer
    assert answer["TrainingJobStatusCounters"]["InProgress"] == 1 and answer["ObjectiveStatusCounters"]["Pending"] == 1
    assert (
        client.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=job, StatusEquals="Completed"
        )["TrainingJobSummaries"]
        == []
    )
    backend = SageMakerBackend()
    backend.stop(job)
    backend.wait(job, poll_seconds=0.01, timeout=10)
    (ended,) = client.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName=job)[
        "TrainingJobSummaries"
    ]  # released: it reads how it ended
    assert ended["TrainingJobStatus"] == "Completed"
    assert ended["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == 0.8
    assert client.describe_training_job(TrainingJobName=ended["TrainingJobName"])["TrainingJobStatus"] == "Completed"


# ---------------------------------------------------------------------- the trials, as the API shows them
def test_the_listing_sorts_filters_and_pages_as_documented(fake: FakeSageMaker) -> None:
    plan = [0.5, TrialOutcome(status="Failed"), *[0.1 * i for i in range(1, 11)]]
    job = _submit(fake, "listing", plan, max_jobs=12)
    client = fake.session.client("sagemaker")
    first = client.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName=job)
    assert len(first["TrainingJobSummaries"]) == 10  # the documented default MaxResults
    assert [s["TrainingJobName"] for s in first["TrainingJobSummaries"]] == sorted(
        s["TrainingJobName"] for s in first["TrainingJobSummaries"]
    )
    assert first["NextToken"]
    by_value = client.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=job, SortBy="FinalObjectiveMetricValue", SortOrder="Descending", MaxResults=100
    )["TrainingJobSummaries"]
    values = [s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for s in by_value]
    assert len(values) == 11 and values == sorted(values, reverse=True)  # the failed trial is not listed
    (failed,) = client.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=job, StatusEquals="Failed"
    )["TrainingJobSummaries"]
    assert failed["ObjectiveStatus"] == "Failed"
    assert failed["FailureReason"]
    assert "FinalHyperParameterTuningJobObjectiveMetric" not in failed


def test_describe_training_job_shows_the_trial_not_motos_inventions(fake: FakeSageMaker) -> None:
    job = _submit(fake, "trial-view", [0.8, TrialOutcome(status="Failed")], max_jobs=2)
    backend = SageMakerBackend()
    done, failed = backend.list_trials(job)
    sent = fake.bridge.sent[job]["TrainingJobDefinition"]["AlgorithmSpecification"]["MetricDefinitions"]
    client = fake.session.client("sagemaker")
    described = client.describe_training_job(TrainingJobName=done.name)
    assert described["AlgorithmSpecification"]["MetricDefinitions"] == sent  # moto would say test:dcg
    finals = {m["MetricName"]: m["Value"] for m in described["FinalMetricDataList"]}
    assert finals["eval_macro_recall"] == 0.8
    history = backend.metric_history(job, done.name)
    assert finals == {name: values[-1] for name, values in history.items()}  # the latest value emitted
    gone = client.describe_training_job(TrainingJobName=failed.name)
    assert gone["TrainingJobStatus"] == "Failed"
    assert gone["FailureReason"] == failed.failure_reason
    assert "ModelArtifacts" not in gone
    retrain = backend.start_training(job, {"epochs": "3"})
    again = client.describe_training_job(TrainingJobName=retrain)
    assert again["AlgorithmSpecification"]["MetricDefinitions"] == sent
    assert "FinalMetricDataList" not in again  # nothing ran, so nothing was emitted


def test_trials_are_the_same_on_every_run() -> None:
    seen = []
    for _ in range(2):
        with fake_sagemaker(bucket=BUCKET) as fake:
            job = _submit(fake, "same", max_jobs=2)  # no plan: seeded values
            seen.append([(t.name, t.hyperparameters) for t in SageMakerBackend().list_trials(job)])
    assert seen[0] == seen[1]


# ---------------------------------------------------------------------- every session, and nothing leaks
def test_every_session_made_inside_reaches_the_fake(fake: FakeSageMaker) -> None:
    import boto3

    job = _submit(fake, "anywhere", max_jobs=2)
    listed = boto3.client("sagemaker").list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=job
    )
    assert len(listed["TrainingJobSummaries"]) == 2
    assert boto3.client("s3").head_bucket(Bucket=BUCKET)["ResponseMetadata"]["HTTPStatusCode"] == 200
    model = fake.session.client("sagemaker").describe_training_job(
        TrainingJobName=listed["TrainingJobSummaries"][0]["TrainingJobName"]
    )
    assert "VpcConfig" not in model  # moto's empty structures are pruned, as AWS omits them


def test_the_environment_is_restored_and_nothing_leaks(monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3
    import botocore.handlers

    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALKEY")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://example.invalid")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", "https://example.invalid")
    monkeypatch.delenv("HFST_STATE_DIR", raising=False)
    before = dict(os.environ)
    default = boto3.DEFAULT_SESSION
    with fake_sagemaker() as fake:
        inside = boto3.Session()
        assert "AWS_PROFILE" not in os.environ and "AWS_ENDPOINT_URL" not in os.environ
        assert inside.get_credentials().access_key != "AKIAREALKEY"  # fake credentials (moto sets its own)
        assert os.environ["HFST_STATE_DIR"] != before.get("HFST_STATE_DIR")
        assert fake.s3_endpoint.startswith("http://127.0.0.1:")
    assert dict(os.environ) == before
    assert not [h for h in botocore.handlers.BUILTIN_HANDLERS if getattr(h[1], "__self__", None) is fake.bridge]
    assert boto3.DEFAULT_SESSION is default
    assert not fake.bridge.active  # handlers left on `inside` stay silent


def test_one_fake_at_a_time(fake: FakeSageMaker) -> None:
    with pytest.raises(TuningError, match="already open"), fake_sagemaker():
        pass


def test_without_moto_it_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "moto", None)
    with pytest.raises(TuningError, match=r"hf-sagemaker-tuning\[testing\]"), fake_sagemaker():
        pass


def test_importing_the_package_imports_neither_moto_nor_pytest() -> None:
    probe = "import sys, json, hf_sagemaker_tuning, hf_sagemaker_tuning.testing\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    loaded = {m.split(".")[0] for m in json.loads(out.stdout.strip().splitlines()[-1])}
    assert not loaded & {"moto", "pytest", "boto3"}


# ---------------------------------------------------------------------- deploy on the fake
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the sagemaker SDK's own, at import
def test_deploy_looks_at_the_endpoint_at_once(fake: FakeSageMaker, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from hf_sagemaker_tuning.deploy import deploy_sagemaker

    job = _submit(fake, "deploy-now", max_jobs=2)

    def no_sleep(seconds: float) -> None:
        raise AssertionError(f"slept {seconds} s before looking at an endpoint that is InService")

    monkeypatch.setattr(time, "sleep", no_sleep)
    endpoint = deploy_sagemaker(job, role=fake.role_arn, region=fake.region, boto_session=fake.session)
    assert fake.session.client("sagemaker").describe_endpoint(EndpointName=endpoint.name)["EndpointStatus"] == (
        "InService"
    )
    endpoint.undeploy()


def test_waiting_for_an_endpoint_that_fails_says_why() -> None:
    from hf_sagemaker_tuning.deploy import DeployError
    from hf_sagemaker_tuning.deploy._sagemaker import wait_in_service

    class Endpoint:  # DescribeEndpoint of an endpoint that fails on its second look
        def __init__(self) -> None:
            self.answers = [{"EndpointStatus": "Creating"}, {"EndpointStatus": "Failed", "FailureReason": "no GPU"}]

        def describe_endpoint(self, EndpointName: str) -> dict[str, Any]:
            return self.answers.pop(0)

    with pytest.raises(DeployError, match="'ep' is Failed, not InService: no GPU"):
        wait_in_service(Endpoint(), "ep", poll_seconds=0.01)
