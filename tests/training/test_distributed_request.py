"""The compiled request's torchrun switch reaches the bundled package as a platform key: accepted, not passed on."""

from __future__ import annotations

import json
from pathlib import Path

from hfst_train.hparams import resolve

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def test_the_package_accepts_every_static_hyperparameter_of_the_multi_gpu_goldens() -> None:
    for name in ("variant-gpus-8.json", "variant-gpus-2x4.json"):
        static = json.loads((GOLDEN / name).read_text(encoding="utf-8"))["TrainingJobDefinition"][
            "StaticHyperParameters"
        ]
        assert static["sagemaker_torch_distributed_enabled"] == "true"
        resolved = resolve(static)
        assert "sagemaker_torch_distributed_enabled" not in resolved
        assert resolved["model_name_or_path"] == static["model_name_or_path"]
