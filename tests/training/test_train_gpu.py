"""The GPU path (bf16/fp16 autocast, fused AdamW, TF32, pinned memory, torch.compile); skipped without CUDA."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

Runner = Callable[..., tuple[int, Path]]

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
    expected = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    assert config["precision"]["name"] == expected
    assert config["precision"]["grad_scaler"] is (expected == "fp16")
    assert config["precision"]["tf32_matmul"] is True
    assert config["optimizer"]["defaults"]["fused"] is True
    assert config["data"]["pin_memory"] is True
    assert config["device"]["type"] == "cuda"
    metrics = json.loads((base / "output" / "data" / "metrics.json").read_text())
    assert [e["step"] for e in metrics["evaluations"]] == [4, 8]
    assert all(0.5 < e["eval_loss"] < 3.0 for e in metrics["evaluations"])
