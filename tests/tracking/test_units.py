"""The tracking section's checks, the compiled environment, redaction, and the container's tracker without MLflow."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hf_sagemaker_tuning.backends.sagemaker import tracking_requirements
from hf_sagemaker_tuning.compile import compile_request
from hf_sagemaker_tuning.errors import SpecError
from hf_sagemaker_tuning.specs import parse_job_spec, spec_to_dict
from hf_sagemaker_tuning.tracking._redact import redact_mapping, redact_text

from ..conftest import REPO
from ..specs._base_spec import spec_with

ARN = "arn:aws:sagemaker:eu-west-1:123456789012:mlflow-tracking-server/team-server"


def _container_tracking() -> ModuleType:
    sys.path.insert(0, str(REPO / "training"))
    try:
        return importlib.import_module("hfst_train.tracking")
    finally:
        sys.path.remove(str(REPO / "training"))


def _spec(**tracking: Any) -> Any:
    return parse_job_spec(spec_with(**{"tracking": tracking}))


@pytest.mark.parametrize("uri", ["./mlruns", "/srv/mlruns", "http://127.0.0.1:5000", "https://mlflow.example.com", ARN])
def test_the_three_kinds_of_tracking_uri_are_accepted(uri: str) -> None:
    region = {"sagemaker.region": "eu-west-1"} if uri.startswith("arn:") else {}
    spec = parse_job_spec(spec_with(**region, tracking={"mlflow": {"tracking_uri": uri}}))
    assert spec.tracking is not None and spec.tracking.mlflow is not None


@pytest.mark.parametrize(
    ("uri", "words"),
    [
        ("https://me:secret@mlflow.example.com", "MLFLOW_TRACKING_USERNAME"),
        ("s3://bucket/mlruns", "give a local folder"),
        ("arn:aws:sagemaker:eu-west-1:123:mlflow-tracking-server/x", "not a SageMaker MLflow tracking-server ARN"),
        ("http://", "names no host"),
    ],
)
def test_a_bad_tracking_uri_names_the_field_and_the_rule(uri: str, words: str) -> None:
    with pytest.raises(SpecError) as caught:
        _spec(mlflow={"tracking_uri": uri})
    assert "tracking.mlflow.tracking_uri" in str(caught.value) and words in str(caught.value)
    assert "secret" not in str(caught.value).replace("MLFLOW_TRACKING", "")


def test_a_tracking_server_in_another_region_is_refused() -> None:
    with pytest.raises(SpecError, match=r"tracking\.mlflow\.tracking_uri.*eu-west-1.*us-east-1"):
        parse_job_spec(spec_with(**{"sagemaker.region": "us-east-1", "tracking": {"mlflow": {"tracking_uri": ARN}}}))


def test_the_environment_asks_the_trials_to_track_and_a_local_folder_is_made_absolute(tmp_path: Path) -> None:
    spec = _spec(mlflow={"tracking_uri": "./mlruns", "experiment": "exp"}, tensorboard=True)
    local = compile_request(spec, target="local", job_name="tracked-1").TrainingJobDefinition.Environment
    assert local == {
        "HFST_TENSORBOARD": "1",
        "HFST_MLFLOW_TRACKING_URI": str(Path("mlruns").resolve()),
        "HFST_MLFLOW_EXPERIMENT": "exp",
        "HFST_TRACKING_JOB": "tracked-1",
    }
    # a container cannot reach this machine's folder: SageMaker trials get TensorBoard only
    remote = compile_request(spec, job_name="tracked-1").TrainingJobDefinition.Environment
    assert remote == {"HFST_TENSORBOARD": "1"}
    assert compile_request(parse_job_spec(spec_with()), job_name="plain-1").TrainingJobDefinition.Environment is None


def test_the_container_installs_only_what_the_tracking_needs() -> None:
    assert tracking_requirements(None) == ()
    assert tracking_requirements({"HFST_TENSORBOARD": "1"}) == ("tensorboard>=2.16",)
    http = tracking_requirements({"HFST_MLFLOW_TRACKING_URI": "http://h:5000"})
    assert http == ("mlflow>=2.16",)
    assert tracking_requirements({"HFST_MLFLOW_TRACKING_URI": ARN}) == ("mlflow>=2.16", "sagemaker-mlflow>=0.1")


MARKED = {
    "learning_rate": "0.001",
    "hf_token": "hf_abcdefghijklmnopqrstuvwxyz",
    "aws_secret_access_key": "MARKER-aws",
    "db-password": "MARKER-pw",
    "max_tokens": "128",
    "tokenizer": "bert-base-uncased",
    "data": "https://user:MARKER-uri@example.com/x?y=1",
    "remote": "s3://bucket/key",
    "note": "AKIAABCDEFGHIJKLMNOP and hf_abcdefghijklmnopqrstuvwxyz",
}
EXPECTED = {
    "learning_rate": "0.001",
    "hf_token": "***",
    "aws_secret_access_key": "***",
    "db-password": "***",
    "max_tokens": "128",
    "tokenizer": "bert-base-uncased",
    "data": "https://***@example.com/x?y=1",
    "remote": "s3://bucket/key",
    "note": "*** and ***",
}


def test_secrets_are_hidden_by_name_and_by_shape_and_the_container_agrees() -> None:
    assert redact_mapping(MARKED) == EXPECTED
    container = _container_tracking()
    assert container.run_params({**MARKED, "sagemaker_program": "train.py", "_tuning_objective_metric": "m"}) == (
        EXPECTED
    )


@given(st.text(max_size=40), st.text(alphabet="abcdefghij0123456789", min_size=1, max_size=20))
def test_a_password_in_a_uri_never_survives(prefix: str, password: str) -> None:
    text = f"{prefix} https://user:{password}@host/path"
    assert f":{password}@" not in redact_text(text)
    assert f":{password}@" not in _container_tracking().redact_text(text)


def test_the_container_trains_on_without_mlflow_and_says_so_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    container = _container_tracking()
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow raises ImportError
    env = {"HFST_MLFLOW_TRACKING_URI": "http://127.0.0.1:1", "HFST_TRACKING_JOB": "j", "TRAINING_JOB_NAME": "t"}
    with container.Tracker(env, {"learning_rate": "0.1"}, tmp_path) as tracker:
        tracker.log({"epoch": 1.0, "step": 3, "eval_loss": 0.5})
        tracker.log({"epoch": 2.0, "step": 6, "eval_loss": 0.4})
    lines = [line for line in capsys.readouterr().out.splitlines() if line]
    assert lines == ["hfst: MLflow tracking asked for, but mlflow is not installed here: the run is not logged live"]


def test_an_unreachable_server_in_the_container_is_one_line_and_no_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("mlflow")
    from ..helpers import free_port

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    container = _container_tracking()
    env = {"HFST_MLFLOW_TRACKING_URI": f"http://127.0.0.1:{free_port()}", "TRAINING_JOB_NAME": "t"}
    with container.Tracker(env, {}, tmp_path) as tracker:
        tracker.log({"step": 1, "eval_loss": 0.5})
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("hfst:")]
    assert len(lines) == 1 and "tracking failed" in lines[0] and "goes on without it" in lines[0]


@pytest.mark.aws
@pytest.mark.timeout(120)
def test_a_sagemaker_retrain_of_a_tracked_job_uploads_its_tensorboard_files_and_says_it_is_a_retrain() -> None:
    from hf_sagemaker_tuning.backends.sagemaker import SageMakerBackend
    from hf_sagemaker_tuning.testing import fake_sagemaker
    from hf_sagemaker_tuning.tracking import tensorboard_location

    from ..backends.sagemaker_env import BUCKET, example_spec

    data = spec_to_dict(example_spec(max_jobs=2))
    data["tracking"] = {"mlflow": {"tracking_uri": "https://mlflow.example.com"}, "tensorboard": True}
    spec = parse_job_spec(data)
    with fake_sagemaker(bucket=BUCKET) as fake:
        backend = SageMakerBackend(boto_session=fake.session)
        job = backend.submit(compile_request(spec, job_name="tb-retrain"), spec)
        backend.wait(job, poll_seconds=0.2, timeout=60)
        sent: list[dict[str, Any]] = []  # moto keeps no Environment: read what was sent
        call = backend._call

        def recording(operation: str, **kwargs: Any) -> dict[str, Any]:
            if operation == "create_training_job":
                sent.append(kwargs)
            return call(operation, **kwargs)

        backend._call = recording  # type: ignore[method-assign]
        name = backend.start_training(job, {"epochs": "1"}, name="tb-retrain-run")
        answer = fake.session.client("sagemaker").describe_training_job(TrainingJobName=name)
        logdir = tensorboard_location(backend, job)
    assert answer["TensorBoardOutputConfig"]["S3OutputPath"].endswith("/tb-retrain/tensorboard")
    assert answer["TensorBoardOutputConfig"]["LocalPath"] == "/opt/ml/output/tensorboard"
    environment = sent[0]["Environment"]
    assert environment["HFST_TRACKING_KIND"] == "retrain"
    assert environment["HFST_TENSORBOARD_DIR"] == "/opt/ml/output/tensorboard"
    assert environment["HFST_TRACKING_JOB"] == "tb-retrain"
    assert spec.sagemaker is not None
    assert logdir == f"{spec.sagemaker.output_path.rstrip('/')}/tb-retrain/tensorboard"
