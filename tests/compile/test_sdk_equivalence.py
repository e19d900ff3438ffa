"""The sagemaker v3 SDK, driven by our compiled request, sends that request (plus listed additions).

Runs the real SDK under in-process moto: no AWS account, no network. The request is
captured with botocore's ``provide-client-params`` hook as boto3 is about to send it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from hf_sagemaker_tuning.compile import compile_request, validate_request_body
from hf_sagemaker_tuning.compile.sdk import SDK_ADDED_FIELDS, build_tuner, sdk_inputs
from hf_sagemaker_tuning.specs import load_job_spec, parse_job_spec

from ..conftest import EXAMPLE_SPEC
from ..specs._base_spec import spec_with
from .test_golden_requests import VARIANTS

pytestmark = [
    pytest.mark.aws,
    pytest.mark.timeout(120),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


@pytest.fixture
def moto_session(tmp_path: Path) -> Iterator[tuple[Any, dict[str, Any]]]:
    import boto3
    from moto import mock_aws

    config = tmp_path / "sagemaker-config.yaml"
    config.write_text("SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n")
    captured: dict[str, Any] = {}
    with (
        mock.patch.dict("os.environ", {"SAGEMAKER_USER_CONFIG_OVERRIDE": str(config)}),
        mock_aws(),
        mock.patch("time.sleep"),
    ):
        session = boto3.Session(region_name="us-east-1")
        session.events.register(
            "provide-client-params.sagemaker.*",
            lambda params, model, **kw: captured.__setitem__(model.name, copy.deepcopy(params)),
        )
        session.client("iam").create_role(RoleName="SageMakerRole", AssumeRolePolicyDocument="{}")
        session.client("s3").create_bucket(Bucket="my-bucket")
        from sagemaker.core.helper.session_helper import Session

        yield Session(boto_session=session, default_bucket="my-bucket"), captured


def _without_sdk_additions(sent: dict[str, Any]) -> dict[str, Any]:
    body = json.loads(json.dumps(sent, default=str))
    definition = body["TrainingJobDefinition"]
    definition["InputDataConfig"] = [c for c in definition["InputDataConfig"] if c["ChannelName"] != "sm_drivers"]
    definition["StaticHyperParameters"].pop("sagemaker_submit_directory")
    return body


@pytest.mark.parametrize("variant", ["example", "hyperband", "random-warm-start-completion-spot-tags", "gpus-2x4"])
def test_sdk_sends_our_request(variant: str, moto_session: tuple[Any, dict[str, Any]]) -> None:
    session, captured = moto_session
    spec = load_job_spec(EXAMPLE_SPEC) if variant == "example" else parse_job_spec(spec_with(**VARIANTS[variant]))
    if spec.sagemaker and spec.sagemaker.region != "us-east-1":
        spec = parse_job_spec(
            {
                **spec.model_dump(mode="json", exclude_unset=True),
                "sagemaker": {**spec.sagemaker.model_dump(exclude_unset=True), "region": "us-east-1"},
            }
        )
    request = compile_request(spec, job_name="hfst-equivalence-1")
    ours = request.to_api()
    validate_request_body(ours)

    tuner = build_tuner(spec, request, sagemaker_session=session)
    tuner.tune(inputs=sdk_inputs(request), job_name=request.job_name, wait=False)
    sent = captured["CreateHyperParameterTuningJob"]

    # The additions the SDK makes, exactly as SDK_ADDED_FIELDS lists them.
    assert len(SDK_ADDED_FIELDS) == 2
    submit = sent["TrainingJobDefinition"]["StaticHyperParameters"]["sagemaker_submit_directory"]
    assert submit.startswith(f"s3://my-bucket/{spec.name}/tuning-") and submit.endswith("/sourcedir/sourcedir.tar.gz")
    assert [c["ChannelName"] for c in sent["TrainingJobDefinition"]["InputDataConfig"]][-1] == "sm_drivers"

    expected = copy.deepcopy(ours)
    expected["TrainingJobDefinition"]["StaticHyperParameters"].pop("sagemaker_submit_directory")
    assert _without_sdk_additions(sent) == expected


def test_sdk_uploads_the_bundled_training_package(moto_session: tuple[Any, dict[str, Any]]) -> None:
    import io
    import tarfile

    import boto3

    session, captured = moto_session
    spec = load_job_spec(EXAMPLE_SPEC)
    request = compile_request(spec, job_name="hfst-upload-1")
    build_tuner(spec, request, sagemaker_session=session).tune(
        inputs=sdk_inputs(request), job_name=request.job_name, wait=False
    )
    uri = captured["CreateHyperParameterTuningJob"]["TrainingJobDefinition"]["StaticHyperParameters"][
        "sagemaker_submit_directory"
    ]
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    blob = boto3.client("s3", region_name="us-east-1").get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        names = tar.getnames()
    assert "train.py" in names and "hyperparameters.json" in names and "metrics.json" in names


def test_sdk_trainer_carries_torchrun_when_the_request_does(moto_session: tuple[Any, dict[str, Any]]) -> None:
    from sagemaker.train.distributed import Torchrun

    session, _ = moto_session
    for changes, expected in (({"training.instance_type": "ml.p4d.24xlarge"}, True), ({}, False)):
        spec = parse_job_spec(spec_with(**changes))
        trainer = build_tuner(spec, compile_request(spec, job_name="hfst-torchrun-1"), sagemaker_session=session)
        assert isinstance(trainer.model_trainer.distributed, Torchrun) is expected
        assert ("sagemaker_torch_distributed_enabled" in trainer.model_trainer.hyperparameters) is expected
