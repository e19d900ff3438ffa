"""The GPU path (bf16/fp16 autocast, fused AdamW, TF32, pinned memory, torch.compile, DDP over NCCL, LoRA).

Skipped without CUDA; the DDP test also needs 2 CUDA devices. scripts/gpu_check.sh runs this file on a lent GPU.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.training.test_train_distributed import Run, _metric_lines, _run

Runner = Callable[..., tuple[int, Path]]
#: 2 GPUs x 16 against 1 GPU x 32 (fp32 weights, TF32 matmuls, NCCL's reduction order): the validation loss
#: agrees within this relative tolerance (on CPU with gloo the same pair agrees within 1e-5).
GPU_RELATIVE_TOLERANCE = 1e-2

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
    pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning"),
]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("compile_", [False, True])
def test_gpu_job_uses_the_fast_path(run_inprocess: Runner, compile_: bool) -> None:
    args = {"max_steps": 8, "eval_steps": 4, "per_device_train_batch_size": 16, "pad_to_multiple_of": 32}
    status, base = run_inprocess({**args, "torch_compile": compile_})
    assert status == 0, (base / "output" / "failure").read_text()
    config = json.loads((base / "output" / "data" / "effective_config.json").read_text())
    expected = _bf16_or_fp16()
    assert config["precision"]["name"] == expected
    assert config["precision"]["grad_scaler"] is (expected == "fp16")
    assert config["precision"]["tf32_matmul"] is True
    assert config["optimizer"]["defaults"]["fused"] is True
    assert config["data"]["pin_memory"] is True
    assert config["device"]["type"] == "cuda"
    metrics = json.loads((base / "output" / "data" / "metrics.json").read_text())
    assert [e["step"] for e in metrics["evaluations"]] == [4, 8]
    assert all(0.5 < e["eval_loss"] < 3.0 for e in metrics["evaluations"])


def _bf16_or_fp16() -> str:
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


def _json(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


@pytest.mark.timeout(600)
@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs 2 CUDA devices")
def test_gpu_ddp_on_two_gpus_trains_over_nccl_and_matches_one_gpu(
    tmp_path_factory: pytest.TempPathFactory, channels: dict[str, Path], tiny_model: Path
) -> None:
    fp32 = {"precision": "fp32"}  # autocast off: the comparison measures DDP, not bf16 rounding
    two: Run = _run(tmp_path_factory.mktemp("gpu-ddp-2x16"), channels, tiny_model, 2, 16, fp32)
    assert two.returncode == 0, two.output[-4000:]
    one: Run = _run(tmp_path_factory.mktemp("gpu-1x32"), channels, tiny_model, 1, 32, fp32)
    assert one.returncode == 0, one.output[-4000:]
    assert "hfst: global batch 32 = per_device_train_batch_size 16 x 2 process(es)" in two.output
    assert "(backend nccl," in two.output
    assert all(line.startswith("[default0]:") for line in _metric_lines(two.output))  # rank 0 only
    config = _json(two.base / "output" / "data" / "effective_config.json")
    assert config["distributed"]["world_size"] == 2 and config["device"]["type"] == "cuda"
    report, single = two.report(), one.report()
    assert report["validation"]["processes"] == 2
    assert [e["step"] for e in report["evaluations"]] == [e["step"] for e in single["evaluations"]]
    assert report["final"]["eval_loss"] == pytest.approx(single["final"]["eval_loss"], rel=GPU_RELATIVE_TOLERANCE)


@pytest.mark.timeout(300)
def test_gpu_lora_trains_in_bf16_where_supported_and_saves_a_merged_model(run_inprocess: Runner) -> None:
    pytest.importorskip("peft")
    args = {"max_steps": 6, "eval_steps": 3, "per_device_train_batch_size": 16, "learning_rate": 1e-3}
    status, base = run_inprocess({**args, "lora_r": 4, "lora_target_modules": "query,value"})
    assert status == 0, (base / "output" / "failure").read_text()
    config = _json(base / "output" / "data" / "effective_config.json")
    assert config["precision"]["name"] == _bf16_or_fp16() and config["device"]["type"] == "cuda"
    lora = config["model"]["lora"]
    assert lora["enabled"] and lora["r"] == 4 and lora["trainable_parameters"] < lora["all_parameters"]
    metrics = _json(base / "output" / "data" / "metrics.json")
    assert all(0.5 < e["eval_loss"] < 3.0 for e in metrics["evaluations"])
    assert (base / "model" / "model.safetensors").is_file()
    assert not (base / "model" / "adapter_model.safetensors").exists()  # merged into the base
