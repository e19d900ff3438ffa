"""Every mistake is rejected before anything is sent, with the field named.

The first cases are the ones that botocore, the sagemaker v3 SDK and moto all let
through (reference/sagemaker-v3.md §4): a bogus scaling type, an unknown strategy,
min > max, a 64-character job name, a regex that reads 1e-05 as 1.
"""

from __future__ import annotations

from typing import Any

import pytest

from hf_sagemaker_tuning.errors import SpecError
from hf_sagemaker_tuning.specs import parse_job_spec

from ._base_spec import spec_with

LR = "search_space.learning_rate"
CASES: list[tuple[str, dict[str, Any], str, str]] = [
    # (id, changes, field path expected in the message, message fragment)
    (
        "bogus-scaling",
        {f"{LR}.scaling": "Bogus"},
        f"{LR}.scaling",
        "'auto', 'linear', 'logarithmic' or 'reverse_logarithmic'",
    ),
    ("unknown-strategy", {"tuning.strategy": "Foo"}, "tuning.strategy", "'bayesian', 'random', 'grid' or 'hyperband'"),
    ("min-above-max", {f"{LR}.min": 1e-3, f"{LR}.max": 1e-4}, LR, "must be smaller than max"),
    ("min-equals-max", {"search_space.warmup_steps.max": 0}, "search_space.warmup_steps", "must be smaller than max"),
    ("name-64-chars", {"name": "x" * 64}, "name", "32"),
    ("name-underscore", {"name": "tweet_eval"}, "name", "letters, digits and hyphens"),
    (
        "truncating-regex",
        {"objective": {"metric": "my_acc", "direction": "maximize", "regex": r"my_acc = ([0-9\.]+)"}},
        "objective.regex",
        "does not read 1e-05, -0.3 whole",
    ),
    (
        "regex-two-groups",
        {"objective": {"metric": "m", "direction": "maximize", "regex": r"(m)=([0-9.eE+-]+)"}},
        "objective.regex",
        "exactly one capture group",
    ),
    (
        "regex-does-not-compile",
        {"objective": {"metric": "m", "direction": "maximize", "regex": r"m=([0-9"}},
        "objective.regex",
        "does not compile",
    ),
    (
        "regex-too-long",
        {"objective": {"metric": "m", "direction": "maximize", "regex": "m" * 490 + r"=(\d+\.?\d*)"}},
        "objective.regex",
        "at most 500",
    ),
    (
        "custom-metric-without-direction",
        {"objective": {"metric": "m", "regex": r"m=([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"}},
        "objective",
        "needs direction",
    ),
    ("unknown-metric", {"objective.metric": "eval_f2"}, "objective.metric", "is not an evaluation metric"),
    (
        "log-scale-min-zero",
        {"search_space.weight_decay.scaling": "logarithmic"},
        "search_space.weight_decay",
        "needs min > 0",
    ),
    (
        "reverse-log-integer",
        {"search_space.warmup_steps.scaling": "reverse_logarithmic"},
        "search_space.warmup_steps.scaling",
        "continuous parameters only",
    ),
    (
        "reverse-log-max-1",
        {"search_space.weight_decay": {"kind": "continuous", "min": 0.1, "max": 1.0, "scaling": "reverse_logarithmic"}},
        "search_space.weight_decay",
        "0 <= min < max < 1",
    ),
    ("unknown-kind", {"search_space.weight_decay.kind": "float"}, "search_space.weight_decay", "continuous"),
    (
        "too-many-params",
        {"search_space": {f"p{i}": {"kind": "integer", "min": 0, "max": 1} for i in range(31)}},
        "search_space",
        "at most 30",
    ),
    (
        "too-many-values",
        {"search_space.optimizer.values": [f"v{i}" for i in range(31)]},
        "search_space.optimizer.values",
        "30",
    ),
    (
        "value-too-long",
        {"search_space.optimizer.values": ["adamw", "a" * 257]},
        "search_space.optimizer.values",
        "1 to 256",
    ),
    (
        "bad-param-name",
        {"search_space": {"learning rate": {"kind": "continuous", "min": 0.1, "max": 0.2}}},
        "search_space",
        "is not allowed",
    ),
    (
        "undeclared-hyperparameter",
        {"search_space.lr": {"kind": "continuous", "min": 1e-5, "max": 1e-4}},
        "search_space.lr",
        "no such hyperparameter",
    ),
    (
        "undeclared-static",
        {"training.hyperparameters.num_epochs": 3},
        "training.hyperparameters.num_epochs",
        "the bundled training package has no such hyperparameter; known: ",
    ),
    (
        "categorical-not-in-choices",
        {"search_space.optimizer.values": ["adamw", "lamb"]},
        "search_space.optimizer",
        "'lamb' is not one of",
    ),
    (
        "continuous-for-int",
        {"search_space.warmup_steps": {"kind": "continuous", "min": 0, "max": 500}},
        "search_space.warmup_steps",
        "takes integers; use kind: integer",
    ),
    (
        "range-outside-declared",
        {"search_space.weight_decay.max": 20.0},
        "search_space.weight_decay",
        "above the largest allowed value",
    ),
    (
        "tuned-and-static",
        {"training.hyperparameters.learning_rate": 3e-5},
        "training.hyperparameters.learning_rate",
        "both tuned",
    ),
    ("reserved-static", {"training.hyperparameters.sagemaker_program": "x.py"}, "training.hyperparameters", "reserved"),
    (
        "model-as-hyperparameter",
        {"training.hyperparameters.model_name_or_path": "bert"},
        "training.hyperparameters",
        "training.model",
    ),
    ("parallel-above-max", {"tuning.max_parallel_jobs": 30}, "tuning", "must not exceed max_jobs"),
    ("max-jobs-over-limit", {"tuning.max_jobs": 751}, "tuning", "limit of 750"),
    ("max-jobs-missing", {"tuning.max_jobs": ...}, "tuning", "max_jobs is required"),
    ("parallel-zero", {"tuning.max_parallel_jobs": 0}, "tuning.max_parallel_jobs", "greater than or equal to 1"),
    (
        "hyperband-with-early-stopping",
        {"tuning.strategy": "hyperband", "tuning.hyperband": {"max_resource": 10}},
        "tuning",
        "early_stopping must be 'off'",
    ),
    (
        "hyperband-resource-too-big",
        {"tuning.strategy": "hyperband", "tuning.early_stopping": "off", "tuning.hyperband": {"max_resource": 20001}},
        "tuning.hyperband.max_resource",
        "20000",
    ),
    (
        "hyperband-tunes-epochs",
        {
            "tuning.strategy": "hyperband",
            "tuning.early_stopping": "off",
            "tuning.hyperband": {"max_resource": 5},
            "training.hyperparameters": {},
            "search_space.epochs": {"kind": "integer", "min": 1, "max": 5},
        },
        "search_space.epochs",
        "epochs is Hyperband's resource",
    ),
    ("grid-with-ranges", {"tuning.strategy": "grid"}, "tuning.strategy", "categorical parameters only"),
    (
        "grid-more-jobs-than-combinations",
        {
            "tuning.strategy": "grid",
            "tuning.max_jobs": 5,
            "tuning.max_parallel_jobs": 1,
            "search_space": {"optimizer": {"kind": "categorical", "values": ["adamw", "sgd"]}},
        },
        "tuning.max_jobs",
        "exceeds the 2 combinations",
    ),
    (
        "runtime-too-short",
        {"tuning.max_runtime_seconds": 60},
        "tuning.max_runtime_seconds",
        "greater than or equal to 120",
    ),
    (
        "warm-start-six-parents",
        {"tuning.warm_start": {"parents": [f"p{i}" for i in range(6)]}},
        "tuning.warm_start.parents",
        "at most 5",
    ),
    (
        "not-improving-below-3",
        {"tuning.completion": {"max_jobs_not_improving": 2}},
        "tuning.completion.max_jobs_not_improving",
        "3",
    ),
    (
        "spot-without-checkpoint",
        {"training.use_spot": True, "training.max_wait_seconds": 90000},
        "training",
        "checkpoint_s3_uri",
    ),
    (
        "spot-wait-below-runtime",
        {"training.use_spot": True, "training.max_wait_seconds": 100, "training.checkpoint_s3_uri": "s3://bucket/c"},
        "training",
        "must be >= max_runtime_seconds",
    ),
    ("cpu-instance-for-gpu-image", {"training.instance_type": "ml.m5.xlarge"}, "training.instance_type", "GPU-only"),
    ("unknown-transformers-version", {"training.transformers_version": "4.99.0"}, "training", "available: "),
    (
        "bad-instance-type",
        {"training.instance_type": "g5.xlarge"},
        "training.instance_type",
        "not a SageMaker instance type",
    ),
    ("bad-role", {"sagemaker.role": "SageMakerRole"}, "sagemaker.role", "not an IAM role ARN"),
    ("bad-output-path", {"sagemaker.output_path": "my-bucket/hpo"}, "sagemaker.output_path", "not an S3 URI"),
    ("bad-region", {"sagemaker.region": "useast1"}, "sagemaker.region", "not an AWS region"),
    (
        "credential-in-hyperparameter",
        {"training.hyperparameters.aws_secret_access_key": "x"},
        "training.hyperparameters",
        "looks like a credential",
    ),
    ("unknown-top-level-key", {"tunning": {}}, "tunning", "unknown field"),
    ("unknown-nested-key", {"tuning.max_job": 5}, "tuning.max_job", "unknown field"),
    ("dataset-one-label", {"dataset.label_names": ["positive"]}, "dataset.label_names", "at least two classes"),
    (
        "official-metric-without-a-task",
        {"dataset.source": "./my-tweets", "dataset.config": ..., "objective.metric": "eval_official"},
        "dataset.task",
        "name the task",
    ),
    (
        "dataset-bad-s3",
        {"dataset.source": "s3://My_Bucket/x", "dataset.config": ...},
        "dataset.source",
        "not a valid S3 URI",
    ),
    ("dataset-max-length", {"dataset.max_length": 100000}, "dataset.max_length", "less than or equal to 8192"),
    ("dataset-config-for-files", {"dataset.source": "./data/tweets.csv"}, "dataset", "config is for hub datasets only"),
]


@pytest.mark.parametrize(("changes", "path", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_spec_is_rejected_with_the_field_named(changes: dict[str, Any], path: str, fragment: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_job_spec(spec_with(**changes))
    message = str(info.value)
    assert f"  {path}: " in message, message
    assert fragment in message, message
    assert any(p == path for p, _ in info.value.errors)


def test_there_are_at_least_25_distinct_cases() -> None:
    assert len({c[0] for c in CASES}) == len(CASES) >= 25


def test_base_spec_is_valid() -> None:
    spec = parse_job_spec(spec_with())
    assert spec.direction == "maximize"


def test_spec_error_is_a_value_error_and_lists_every_problem() -> None:
    with pytest.raises(ValueError, match="2 problems") as info:
        parse_job_spec(spec_with(**{"tuning.strategy": "Foo", f"{LR}.scaling": "Bogus"}))
    assert {p for p, _ in info.value.errors} == {"tuning.strategy", f"{LR}.scaling"}  # type: ignore[attr-defined]
