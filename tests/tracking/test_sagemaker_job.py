"""A SageMaker job (the moto-based fake) copied into a real MLflow server by ``track``, twice."""

from __future__ import annotations

import io
import tarfile
from typing import Any

import pytest

from hf_sagemaker_tuning.backends.sagemaker import SageMakerBackend
from hf_sagemaker_tuning.compile import compile_request
from hf_sagemaker_tuning.specs import parse_job_spec, spec_to_dict
from hf_sagemaker_tuning.testing import TrialOutcome, fake_sagemaker
from hf_sagemaker_tuning.tracking import track

from ..backends.sagemaker_env import BUCKET, example_spec
from .conftest import runs_of

pytestmark = [pytest.mark.aws, pytest.mark.timeout(300)]

MARKER = "pw-MARKER-5e6f"


def test_a_sagemaker_job_is_tracked_once_with_its_registered_model(mlflow_server: str) -> None:
    from mlflow import MlflowClient

    data = spec_to_dict(example_spec(max_jobs=3))
    data["tracking"] = {
        "mlflow": {"tracking_uri": mlflow_server, "experiment": "sagemaker-fake", "register_model_as": "sentiment"},
        "tensorboard": True,
    }
    spec = parse_job_spec(data)
    reason = f"AlgorithmError: could not read https://user:{MARKER}@example.com/data"
    with fake_sagemaker(bucket=BUCKET) as fake:
        fake.plan("tracked-sm", [0.61, TrialOutcome(status="Failed", failure_reason=reason), 0.72])
        backend = SageMakerBackend(boto_session=fake.session)
        request = compile_request(spec, job_name="tracked-sm")
        environment = request.TrainingJobDefinition.Environment or {}
        assert environment["HFST_MLFLOW_TRACKING_URI"] == mlflow_server
        assert environment["HFST_TRACKING_JOB"] == "tracked-sm"
        job = backend.submit(request, spec)
        backend.wait(job, poll_seconds=0.2, timeout=120)
        source = request.TrainingJobDefinition.StaticHyperParameters["sagemaker_submit_directory"]
        bucket, key = source[5:].split("/", 1)
        packed = fake.session.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        with tarfile.open(fileobj=io.BytesIO(packed)) as tar:
            member = tar.extractfile("requirements.txt")
            assert member is not None
            requirements = member.read().decode()
        assert requirements.startswith("# Installed by the Hugging Face training container")  # appended to
        assert "mlflow>=" in requirements and "tensorboard>=" in requirements
        assert "sagemaker-mlflow" not in requirements  # a plain server needs no plugin

        results = [track(job, backend) for _ in range(2)]
        trials = backend.list_trials(job)
        best = backend.best_trial(job)
    assert results[0].runs == results[1].runs == {"trial": 3, "retrain": 0, "evaluation": 0}
    runs = [r for r in runs_of(mlflow_server, "sagemaker-fake") if r.data.tags.get("hfst.job") == job]
    assert len(runs) == 4
    parent = next(r for r in runs if r.data.tags["hfst.kind"] == "job")
    children: dict[str, Any] = {r.data.tags["hfst.run"]: r for r in runs if r is not parent}
    assert set(children) == {t.name for t in trials}
    assert best is not None and parent.data.tags["best_trial"] == best.name
    client = MlflowClient(mlflow_server)
    for trial in trials:
        child = children[trial.name]
        assert child.data.tags["backend"] == "sagemaker"
        assert child.data.tags["instance_type"] == spec.training.instance_type
        assert child.data.tags["status"] == trial.status
        for name, value in trial.hyperparameters.items():
            assert child.data.params[name] == value
        for key in child.data.metrics:  # logged once: the second track added no value
            history = client.get_metric_history(child.info.run_id, key)
            assert len({(m.step, m.value) for m in history}) == len(history)
    failed = next(t for t in trials if t.status == "Failed")
    assert children[failed.name].info.status == "FAILED"
    assert MARKER not in children[failed.name].data.tags["failure_reason"]
    assert "https://***@example.com/data" in children[failed.name].data.tags["failure_reason"]
    versions = client.search_model_versions("name = 'sentiment'")
    assert len(versions) == 1
    assert versions[0].run_id == children[best.name].info.run_id
    assert versions[0].source.startswith("s3://")


def test_validate_online_says_whether_the_tracking_server_answers(mlflow_server: str) -> None:
    from hf_sagemaker_tuning.preflight.online import check_tracking

    from ..helpers import free_port
    from ..specs._base_spec import spec_with

    def check(uri: str) -> Any:
        return check_tracking(parse_job_spec(spec_with(tracking={"mlflow": {"tracking_uri": uri}})), timeout=20)

    assert check(mlflow_server).status == "pass"
    down = check(f"http://127.0.0.1:{free_port()}")
    assert down.status == "fail" and down.path == "tracking.mlflow.tracking_uri" and "did not answer" in down.reason
    assert check("./mlruns").status == "pass"
