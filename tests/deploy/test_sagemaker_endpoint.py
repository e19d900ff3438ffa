"""SageMaker deploy / predict / undeploy through the real sagemaker v3 SDK, against in-process moto.

moto gaps bridged through botocore events (see ../shared/reference/sagemaker-v3.md, section 4):
empty ``{}`` structures are stripped from responses (sagemaker-core's pydantic shapes reject
them) and the tuning job's trials are listed as one real moto training job (moto lists none).
InvokeEndpoint answers with a result queued in moto.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import typer
from typer.testing import CliRunner

from hf_sagemaker_tuning.cli.deploy import register
from hf_sagemaker_tuning.deploy import DeployError, Predictor, choose_inference_image, deploy_sagemaker, list_endpoints
from hf_sagemaker_tuning.deploy._remote import SERVING_ENV
from hf_sagemaker_tuning.errors import AwsError

from ..helpers import strip_empty_structures

boto3 = pytest.importorskip("boto3")
moto = pytest.importorskip("moto")

pytestmark = [
    pytest.mark.aws,
    # sagemaker 3.27's ModelBuilder warns about its own default for a parameter we never pass.
    pytest.mark.filterwarnings("ignore:The 'dependencies' parameter is deprecated:DeprecationWarning"),
]

REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/SageMakerRole"
TRAINING_IMAGE = (
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-training:"
    "2.8.0-transformers4.56.2-gpu-py312-cu129-ubuntu22.04"
)
#: The newest inference image with transformers <= 4.56.2 and major version 4, for a CPU instance.
EXPECTED_IMAGE = (
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-inference:"
    "2.6.0-transformers4.51.3-cpu-py312-ubuntu22.04"
)
POSITIVE = [{"label": "positive", "score": 0.98}, {"label": "neutral", "score": 0.015}]


@dataclass
class Aws:
    session: Any
    tuning_job: str
    training_job: str
    model_data_url: str
    captured: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def requests(self, operation: str) -> list[dict[str, Any]]:
        return [params for name, params in self.captured if name == operation]

    def queue_result(self, body: Any) -> None:
        from moto.moto_api._internal.models import moto_api_backend

        moto_api_backend.set_sagemaker_result(
            body=json.dumps(body),
            content_type="application/json",
            prod_variant="AllTraffic",
            custom_attrs="",
            account_id=ACCOUNT,
            region=REGION,
        )


def _plain(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _job_definition() -> dict[str, Any]:
    return {
        "AlgorithmSpecification": {"TrainingImage": TRAINING_IMAGE, "TrainingInputMode": "File"},
        "RoleArn": ROLE,
        "OutputDataConfig": {"S3OutputPath": "s3://models-bucket/output"},
        "ResourceConfig": {"InstanceType": "ml.g5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Aws]:
    config = tmp_path / "sagemaker-config.yaml"
    config.write_text('SchemaVersion: "1.0"\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n')
    monkeypatch.setenv("SAGEMAKER_USER_CONFIG_OVERRIDE", str(config))
    monkeypatch.setenv("SAGEMAKER_VALIDATE_ROLE", "false")
    with moto.mock_aws(), mock.patch("time.sleep"):
        session = boto3.Session(region_name=REGION)
        session.client("iam").create_role(RoleName="SageMakerRole", AssumeRolePolicyDocument="{}")
        sm = session.client("sagemaker")
        sm.create_training_job(TrainingJobName="hpo-best-trial-003", **_job_definition())
        training = sm.describe_training_job(TrainingJobName="hpo-best-trial-003")
        sm.create_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="hpo-tweet-eval",
            HyperParameterTuningJobConfig={
                "Strategy": "Random",
                "ResourceLimits": {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2},
                "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "eval_macro_recall"},
            },
            TrainingJobDefinition={
                **_job_definition(),
                "AlgorithmSpecification": {
                    "TrainingImage": TRAINING_IMAGE,
                    "TrainingInputMode": "File",
                    "MetricDefinitions": [{"Name": "eval_macro_recall", "Regex": "eval_macro_recall=([0-9.]+)"}],
                },
            },
        )
        env = Aws(session, "hpo-tweet-eval", "hpo-best-trial-003", training["ModelArtifacts"]["S3ModelArtifacts"])

        def our_job_is_the_only_trial(params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
            # moto lists no trials (and names "FakeTrainingJobName" as best): the job's one trial is ours
            from botocore.awsrequest import AWSResponse

            trial = {
                "TrainingJobName": env.training_job,
                "TrainingJobStatus": "Completed",
                "CreationTime": training["CreationTime"],
                "TunedHyperParameters": {},
                "FinalHyperParameterTuningJobObjectiveMetric": {"MetricName": "eval_macro_recall", "Value": 0.7},
            }
            return AWSResponse("https://sagemaker.us-east-1.amazonaws.com/", 200, {}, None), {
                "TrainingJobSummaries": [trial]
            }

        def capture(params: dict[str, Any], model: Any, **_: Any) -> None:
            env.captured.append((model.name, json.loads(json.dumps(params, default=_plain))))

        session.events.register("after-call.sagemaker.*", strip_empty_structures)
        session.events.register(
            "before-call.sagemaker.ListTrainingJobsForHyperParameterTuningJob", our_job_is_the_only_trial
        )
        session.events.register("provide-client-params.sagemaker.*", capture)
        session.events.register("provide-client-params.sagemaker-runtime.*", capture)
        yield env


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_deploy_predict_undeploy_under_moto(aws: Aws) -> None:
    endpoint = deploy_sagemaker(aws.tuning_job, role=ROLE, region=REGION, boto_session=aws.session)
    assert endpoint.name == "hfst-hpo-best-trial-003"
    assert endpoint.image is not None
    assert endpoint.image.uri == EXPECTED_IMAGE

    (create_model,) = aws.requests("CreateModel")
    container = create_model["PrimaryContainer"]
    assert container["Image"] == EXPECTED_IMAGE
    assert container["ModelDataUrl"] == aws.model_data_url
    assert (
        container["Environment"]
        == SERVING_ENV
        == {"HF_TASK": "text-classification", "SAGEMAKER_PROGRAM": "inference.py"}
    )
    assert create_model["ExecutionRoleArn"] == ROLE
    (config,) = aws.requests("CreateEndpointConfig")
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.m5.xlarge"
    assert config["ProductionVariants"][0]["InitialInstanceCount"] == 1
    assert [r.name for r in list_endpoints()] == [endpoint.name]
    assert list_endpoints()[0].kind == "sagemaker"

    # Readable labels: our predictor parses the endpoint's JSON into the same list-of-dicts shape.
    aws.queue_result(POSITIVE)
    assert endpoint.predict("Best thing ever!", top_k=2) == POSITIVE
    (invoke,) = aws.requests("InvokeEndpoint")
    assert invoke["EndpointName"] == endpoint.name
    assert invoke["ContentType"] == "application/json"
    assert json.loads(invoke["Body"]) == {"inputs": "Best thing ever!", "parameters": {"top_k": 2}}
    aws.queue_result([POSITIVE[:1], [{"label": "negative", "score": 0.9}]])
    batch = Predictor.for_endpoint(endpoint.name).predict(["Best thing ever!", "Worst."])
    assert batch == [POSITIVE[:1], [{"label": "negative", "score": 0.9}]]

    # The CLI finds it by name too.
    app = typer.Typer()
    register(app)
    aws.queue_result(POSITIVE[:1])
    result = CliRunner().invoke(app, ["predict", endpoint.name, "Best thing ever!", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == POSITIVE[:1]

    removed = endpoint.undeploy()
    assert removed == [f"endpoint {endpoint.name}", f"endpoint config {endpoint.name}", f"model {endpoint.name}"]
    sm = aws.session.client("sagemaker")
    assert sm.list_endpoints()["Endpoints"] == []
    assert sm.list_endpoint_configs()["EndpointConfigs"] == []
    assert sm.list_models()["Models"] == []
    assert list_endpoints() == []


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_context_manager_and_cli_undeploy(aws: Aws) -> None:
    def use_then_fail() -> None:
        with deploy_sagemaker(
            training_job_name=aws.training_job, role=ROLE, region=REGION, boto_session=aws.session, endpoint_name="ctx"
        ) as endpoint:
            assert endpoint.name == "ctx"
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        use_then_fail()
    assert aws.requests("CreateEndpoint")[0]["EndpointName"] == "ctx"
    sm = aws.session.client("sagemaker")
    assert sm.list_endpoints()["Endpoints"] == []
    assert sm.list_models()["Models"] == []

    deploy_sagemaker(aws.tuning_job, role=ROLE, region=REGION, boto_session=aws.session, endpoint_name="by-cli")
    app = typer.Typer()
    register(app)
    listed = CliRunner().invoke(app, ["endpoints", "--json"])
    assert [(row["name"], row["kind"], row["region"]) for row in json.loads(listed.output)] == [
        ("by-cli", "sagemaker", REGION)
    ]
    result = CliRunner().invoke(app, ["undeploy", "by-cli"])
    assert result.exit_code == 0, result.output
    assert sm.list_endpoints()["Endpoints"] == []
    assert sm.list_endpoint_configs()["EndpointConfigs"] == []
    assert sm.list_models()["Models"] == []


def test_aws_errors_keep_code_and_message(aws: Aws) -> None:
    with pytest.raises(AwsError) as info:
        deploy_sagemaker("no-such-tuning-job", role=ROLE, region=REGION, boto_session=aws.session)
    assert info.value.operation == "DescribeHyperParameterTuningJob"
    assert info.value.code
    with pytest.raises(DeployError, match="exactly one"):
        deploy_sagemaker(role=ROLE, region=REGION, boto_session=aws.session)
    assert aws.requests("CreateModel") == []


@pytest.mark.parametrize(
    ("trained", "expected"),
    [
        ("4.56.2", "4.51.3"),  # newest 4.x not newer than the trained version
        ("4.26.0", "4.26.0"),  # an exact match
        ("4.30.1", "4.28.1"),
        ("5.3.0", "5.5.3"),  # no 5.x <= 5.3.0 exists: the newest
        ("3.5.0", "5.5.3"),  # no 3.x image at all: the newest
        (None, "5.5.3"),  # unknown (not a Hugging Face training image): the newest
    ],
)
def test_inference_image_choice(trained: str | None, expected: str) -> None:
    chosen = choose_inference_image(trained, REGION, "ml.m5.xlarge")
    assert chosen.transformers_version == expected
    assert f"-transformers{expected}-cpu-" in chosen.uri
    assert chosen.reason


def test_an_instance_the_image_cannot_run_on_is_refused() -> None:
    with pytest.raises(DeployError, match="NEURON"):
        choose_inference_image("4.56.2", REGION, "ml.inf2.xlarge")
