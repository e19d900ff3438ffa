"""The shared backend contract, run by the local backend and by the SageMaker backend under moto."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from hf_sagemaker_tuning.backends.base import Backend
from hf_sagemaker_tuning.backends.local import LocalBackend
from hf_sagemaker_tuning.backends.sagemaker import SageMakerBackend
from hf_sagemaker_tuning.compile import TuningJobRequest, compile_request
from hf_sagemaker_tuning.specs import load_job_spec
from hf_sagemaker_tuning.testing.backend_contract import BackendContract

from ..conftest import EXAMPLE_SPEC
from ..helpers import strip_empty_structures

pytestmark = pytest.mark.timeout(120)


class TestLocalBackendContract(BackendContract):
    @pytest.fixture
    def backend(self, tmp_path: Path) -> Iterator[Backend]:
        backend = LocalBackend(tmp_path / "jobs", poll_seconds=0.02, grace_seconds=2)
        yield backend
        jobs = tmp_path / "jobs"
        for folder in jobs.iterdir() if jobs.is_dir() else []:  # leave no coordinator running after the test
            backend.stop(str(folder))
            backend.wait(str(folder), poll_seconds=0.05, timeout=60)

    @pytest.fixture
    def job_request(self, make_request: Callable[..., TuningJobRequest]) -> Callable[[str], TuningJobRequest]:
        return lambda name: make_request(name, **{"tuning.max_jobs": 3, "tuning.max_parallel_jobs": 2})


class _FakeAmt:
    """Stands in for what moto lacks: child training jobs of a tuning job (reference/sagemaker-v3.md §3-4)."""

    def __init__(self) -> None:
        self.requests: dict[str, dict[str, Any]] = {}
        self.listed = ""

    def capture(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "CreateHyperParameterTuningJob":
            self.requests[params["HyperParameterTuningJobName"]] = copy.deepcopy(params)
        if model.name == "ListTrainingJobsForHyperParameterTuningJob":
            self.listed = params["HyperParameterTuningJobName"]

    def trials(self, job: str) -> list[dict[str, Any]]:
        request = self.requests[job]
        ranges = request["HyperParameterTuningJobConfig"]["ParameterRanges"]
        metric = request["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]["MetricName"]
        now = dt.datetime(2026, 11, 27, tzinfo=dt.timezone.utc)
        out = []
        for i in range(3):
            tuned = {r["Name"]: r["MinValue"] for r in ranges.get("IntegerParameterRanges", [])}
            tuned |= {r["Name"]: r["MaxValue"] for r in ranges.get("ContinuousParameterRanges", [])}
            tuned |= {
                r["Name"]: r["Values"][i % len(r["Values"])] for r in ranges.get("CategoricalParameterRanges", [])
            }
            out.append(
                {
                    "TrainingJobName": f"{job}-{i + 1:03d}-0000000{i}",
                    "CreationTime": now,
                    "TrainingStartTime": now,
                    "TrainingEndTime": now,
                    "TrainingJobStatus": "Completed",
                    "TunedHyperParameters": tuned,
                    "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{job}-{i}",
                    "FinalHyperParameterTuningJobObjectiveMetric": {"MetricName": metric, "Value": 0.5 + i / 10},
                    "ObjectiveStatus": "Succeeded",
                }
            )
        return out

    def list_children(self, **_: Any) -> tuple[Any, dict[str, Any]]:
        from botocore.awsrequest import AWSResponse

        return AWSResponse("https://local", 200, {}, None), {"TrainingJobSummaries": self.trials(self.listed)}

    def fix_best(self, parsed: dict[str, Any], **_: Any) -> None:
        job = parsed.get("HyperParameterTuningJobName")
        if job in self.requests:
            trials = self.trials(job)
            parsed["BestTrainingJob"] = trials[-1]


@pytest.mark.aws
class TestSageMakerBackendContract(BackendContract):
    @pytest.fixture
    def backend(self) -> Iterator[Backend]:
        import boto3
        from moto import mock_aws

        amt = _FakeAmt()
        with mock_aws(), mock.patch("time.sleep"):
            session = boto3.Session(region_name="us-east-1")
            session.events.register("provide-client-params.sagemaker.*", amt.capture)
            session.events.register("after-call.sagemaker.*", strip_empty_structures)
            session.events.register(
                "before-call.sagemaker.ListTrainingJobsForHyperParameterTuningJob", amt.list_children
            )
            session.events.register("after-call.sagemaker.DescribeHyperParameterTuningJob", amt.fix_best)
            session.client("s3").create_bucket(Bucket="my-bucket")
            yield SageMakerBackend(boto_session=session)

    @pytest.fixture
    def job_request(self) -> Callable[[str], TuningJobRequest]:
        spec = load_job_spec(EXAMPLE_SPEC)
        return lambda name: compile_request(spec, job_name=name)


@pytest.mark.aws
def test_sagemaker_backend_uploads_the_training_code_where_the_request_says() -> None:
    import io
    import tarfile

    import boto3
    from moto import mock_aws

    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        session.client("s3").create_bucket(Bucket="my-bucket")
        request = compile_request(load_job_spec(EXAMPLE_SPEC), job_name="upload-check")
        SageMakerBackend(boto_session=session).submit(request)
        key = "hpo/upload-check/source/sourcedir.tar.gz"
        blob = session.client("s3").get_object(Bucket="my-bucket", Key=key)["Body"].read()
        with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
            names = tar.getnames()
        assert {"train.py", "inference.py", "hyperparameters.json", "metrics.json"} <= set(names)
        assert not [n for n in names if "__pycache__" in n or n.startswith(".") or "/." in n]
        sent = session.client("sagemaker").describe_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="upload-check"
        )
        assert sent["HyperParameterTuningJobConfig"]["Strategy"] == "Bayesian"
