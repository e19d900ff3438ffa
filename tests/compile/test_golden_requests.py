"""Compiled requests are pinned by golden JSON files and accepted by botocore's validator.

Regenerate after an intended change with ``UPDATE_GOLDEN=1 pytest tests/compile``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from hf_sagemaker_tuning.compile import TuningJobRequest, compile_request, validate_request_body
from hf_sagemaker_tuning.compile.compiler import TORCH_DISTRIBUTED_HYPERPARAMETER
from hf_sagemaker_tuning.errors import CompileError
from hf_sagemaker_tuning.specs import load_job_spec, parse_job_spec

from ..conftest import EXAMPLE_SPEC
from ..helpers import EXAMPLE_DECLARED
from ..specs._base_spec import spec_with

GOLDEN = Path(__file__).resolve().parents[1] / "golden"

VARIANTS: dict[str, dict[str, Any]] = {
    "hyperband": {
        "tuning": {
            "strategy": "hyperband",
            "max_jobs": 30,
            "max_parallel_jobs": 3,
            "hyperband": {"min_resource": 1, "max_resource": 9},
        },
        "training.hyperparameters": {"per_device_train_batch_size": 32},
    },
    "grid": {
        "search_space": {
            "optimizer": {"kind": "categorical", "values": ["adamw", "adam", "sgd"]},
            "lr_scheduler_type": {"kind": "categorical", "values": ["linear", "cosine"]},
            "group_by_length": {"kind": "categorical", "values": [True, False]},
        },
        "tuning": {"strategy": "grid", "max_parallel_jobs": 4},
    },
    "random-warm-start-completion-spot-tags": {
        "tuning": {
            "strategy": "random",
            "max_jobs": 1000,
            "max_parallel_jobs": 10,
            "random_seed": 7,
            "max_runtime_seconds": 7200,
            "completion": {
                "target_objective_value": 0.75,
                "max_jobs_not_improving": 10,
                "complete_on_convergence": True,
            },
            "warm_start": {"type": "transfer_learning", "parents": ["tweet-eval-distilbert-1127a"]},
        },
        "training.use_spot": True,
        "training.max_runtime_seconds": 3600,
        "training.max_wait_seconds": 7200,
        "training.checkpoint_s3_uri": "s3://my-bucket/checkpoints",
        "training.transformers_version": "5.3.0",
        "training.pytorch_version": "2.9.0",
        "sagemaker.region": "eu-west-1",
        "sagemaker.tags": {"team": "nlp", "cost-center": "42"},
        "objective": {"metric": "eval_loss"},
    },
    "custom-metric": {
        "objective": {
            "metric": "my_f1",
            "direction": "maximize",
            "regex": r"my_f1: ([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)",
        },
        "training.entry_point": "my_train.py",
        "training.source_dir": "./src",
        "training.declared_hyperparameters": EXAMPLE_DECLARED,
        "search_space.optimizer.values": ["adamw_torch", "adafactor"],
    },
    # Every GPU the bill pays for (issue 19): one GPU runs one process; 8 GPUs and 2 instances x 4 GPUs run
    # torchrun through the training toolkit's sagemaker_torch_distributed_enabled.
    "gpus-1": {"training.instance_type": "ml.g5.2xlarge"},
    "gpus-8": {"training.instance_type": "ml.p4d.24xlarge"},
    "gpus-2x4": {"training.instance_type": "ml.g5.12xlarge", "training.instance_count": 2},
    # Experiment tracking (issue 21): the trials' Environment asks the training package to log to a
    # managed MLflow server and to write TensorBoard files (AMT's definition takes Environment, not
    # TensorBoardOutputConfig: botocore refuses that key in a tuning job).
    "tracking": {
        "sagemaker.region": "eu-west-1",
        "tracking": {
            "mlflow": {
                "tracking_uri": "arn:aws:sagemaker:eu-west-1:123456789012:mlflow-tracking-server/team",
                "experiment": "sentiment",
                "register_model_as": "sentiment-classifier",
            },
            "tensorboard": True,
        },
    },
    # Issue 22: 5-fold cross-validation x 2 seeds; the objective is the fold mean eval_cv_macro_recall.
    "cross-validation": {
        "tuning.early_stopping": "off",
        "tuning.cross_validation": {"folds": 5, "seed": 3},
        "tuning.repeats": 2,
        "training.instance_type": "ml.g5.2xlarge",
    },
}


def _check_golden(name: str, body: dict[str, Any]) -> None:
    path = GOLDEN / f"{name}.json"
    text = json.dumps(body, indent=2, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"golden file {path} is missing; run with UPDATE_GOLDEN=1 once"
    assert json.loads(path.read_text(encoding="utf-8")) == body, f"compiled request differs from {path}"


def test_example_job_compiles_to_its_golden_request() -> None:
    spec = load_job_spec(EXAMPLE_SPEC)
    body = compile_request(spec, job_name="tweet-eval-distilbert-golden").to_api()
    validate_request_body(body)
    _check_golden("tweet-eval-distilbert", body)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_variant_compiles_to_its_golden_request(variant: str) -> None:
    spec = parse_job_spec(spec_with(**VARIANTS[variant]))
    body = compile_request(spec, job_name=f"golden-{variant}"[:32].rstrip("-")).to_api()
    validate_request_body(body)
    _check_golden(f"variant-{variant}", body)


@pytest.mark.parametrize(
    ("variant", "instances", "launches_torchrun"), [("gpus-1", 1, False), ("gpus-8", 1, True), ("gpus-2x4", 2, True)]
)
def test_gpu_goldens_carry_the_launch_the_toolkit_reads(variant: str, instances: int, launches_torchrun: bool) -> None:
    body = json.loads((GOLDEN / f"variant-{variant}.json").read_text(encoding="utf-8"))
    definition = body["TrainingJobDefinition"]
    assert definition["ResourceConfig"]["InstanceCount"] == instances
    static = definition["StaticHyperParameters"]
    assert static.get(TORCH_DISTRIBUTED_HYPERPARAMETER) == ("true" if launches_torchrun else None)


def test_distribution_none_and_the_local_target_send_no_torchrun_switch() -> None:
    none = parse_job_spec(spec_with(**{"training.instance_type": "ml.p4d.24xlarge", "training.distribution": "none"}))
    assert (
        TORCH_DISTRIBUTED_HYPERPARAMETER
        not in compile_request(none, job_name="x").to_api()["TrainingJobDefinition"]["StaticHyperParameters"]
    )
    eight = parse_job_spec(spec_with(**{"training.instance_type": "ml.p4d.24xlarge"}))
    local = compile_request(eight, target="local", job_name="x").to_api()
    assert TORCH_DISTRIBUTED_HYPERPARAMETER not in local["TrainingJobDefinition"]["StaticHyperParameters"]


def test_own_entry_point_on_one_instance_is_distributed_only_when_asked() -> None:
    own = VARIANTS["custom-metric"]
    auto = parse_job_spec(spec_with(**own, **{"training.instance_type": "ml.p4d.24xlarge"}))
    asked = parse_job_spec(
        spec_with(**own, **{"training.instance_type": "ml.p4d.24xlarge", "training.distribution": "torch_distributed"})
    )
    static = [
        compile_request(s, job_name="x").to_api()["TrainingJobDefinition"]["StaticHyperParameters"]
        for s in (auto, asked)
    ]
    assert TORCH_DISTRIBUTED_HYPERPARAMETER not in static[0]
    assert static[1][TORCH_DISTRIBUTED_HYPERPARAMETER] == "true"


def test_request_round_trips_through_the_api_form() -> None:
    spec = load_job_spec(EXAMPLE_SPEC)
    request = compile_request(spec, job_name="rt")
    assert TuningJobRequest.from_api(json.loads(json.dumps(request.to_api()))) == request


def test_objective_picks_the_checkpoint_the_tuner_scores() -> None:
    body = compile_request(load_job_spec(EXAMPLE_SPEC), job_name="x").to_api()
    static = body["TrainingJobDefinition"]["StaticHyperParameters"]
    assert static["metric_for_best_model"] == "eval_macro_recall"
    assert static["model_name_or_path"] == "distilbert-base-uncased"
    assert static["sagemaker_program"] == "train.py"


def test_default_job_names_are_unique_and_fit_32_characters() -> None:
    spec = parse_job_spec(spec_with(name="a-rather-long-tuning-job-name-32"))  # 32: the most SageMaker allows
    names = {compile_request(spec).job_name for _ in range(20)}
    assert len(names) == 20
    assert all(len(n) <= 32 and n.startswith("a-rather-long-tunin-") for n in names)


def test_local_target_uses_file_uris_and_no_aws_section_is_needed() -> None:
    data = spec_with(sagemaker=...)
    spec = parse_job_spec(data)
    request = compile_request(spec, target="local", job_name="loc", data_uri="file:///data/prepared")
    validate_request_body(request.to_api())
    assert request.channels() == {
        "train": "file:///data/prepared/train",
        "validation": "file:///data/prepared/validation",
    }
    submit = request.TrainingJobDefinition.StaticHyperParameters["sagemaker_submit_directory"]
    assert submit.startswith("file://") and submit.rstrip("/").endswith("training")
    with pytest.raises(CompileError, match="needs a `sagemaker:` section"):
        compile_request(spec, target="sagemaker")


def test_botocore_rejects_what_it_should() -> None:
    body = compile_request(load_job_spec(EXAMPLE_SPEC), job_name="x").to_api()
    body["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxParallelTrainingJobs"] = 0
    with pytest.raises(CompileError, match="valid min value: 1"):
        validate_request_body(body)


def test_botocore_refuses_a_tensorboard_output_config_in_a_tuning_job() -> None:
    """Why TensorBoard reaches SageMaker trials through Environment (and retrains through CreateTrainingJob)."""
    body = compile_request(parse_job_spec(spec_with(**VARIANTS["tracking"])), job_name="golden-tracking").to_api()
    body["TrainingJobDefinition"]["TensorBoardOutputConfig"] = {"S3OutputPath": "s3://my-bucket/tensorboard"}
    with pytest.raises(CompileError, match="TensorBoardOutputConfig"):
        validate_request_body(body)
