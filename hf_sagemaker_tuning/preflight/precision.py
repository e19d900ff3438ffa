"""Precision the instance cannot run: bf16 on a GPU older than Ampere or a CPU without native bf16, fp16 without
a GPU (the bundled package's ``precision``); ``fp16`` with ``bf16`` and the like for your own entry point.

Mirrors ``hfst_train.optim.resolve_precision`` (which refuses bf16 where ``torch.cuda.is_bf16_supported()`` is
false and fp16 without CUDA) and ``transformers.TrainingArguments`` ("At most one of fp16 and bf16 can be True").
The hardware facts are ``gpus.py``'s table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import images
from ..specs.job import TuningJobSpec
from ..specs.training import TrainingSpec
from ._findings import Findings, Severity
from ._reach import reach, texts_of
from .gpus import BF16_MIN_COMPUTE_CAPABILITY, cpu_has_native_bf16, gpu_for
from .service_model import training_instance_types


def _truthy(spec: TuningJobSpec, name: str) -> bool:
    """Whether some trial receives ``name`` true."""
    found = reach(spec, name)
    return found is not None and any(text.lower() in ("true", "1") for text in found.texts())


def precision_problems(asked: set[str], instance: str) -> list[tuple[str, Severity]]:
    """``(message, severity)`` for each bundled-package ``precision`` in ``asked`` that ``instance`` cannot run."""
    processor = images.processor_for(instance)
    gpu = gpu_for(instance)
    need = ".".join(str(n) for n in BF16_MIN_COMPUTE_CAPABILITY)
    out: list[tuple[str, Severity]] = []
    if "bf16" in asked and gpu is not None and not gpu.bf16:
        cc = ".".join(map(str, gpu.compute_capability))
        out.append(
            (
                f"precision bf16 needs a GPU of compute capability >= {need} (torch.cuda.is_bf16_supported); "
                f"{instance} has an {gpu.model} ({cc}), so the training package refuses it: use fp16 or auto",
                "error",
            )
        )
    if "fp16" in asked and processor != "gpu":
        out.append(
            (
                f"precision fp16 needs a CUDA GPU (hfst_train.optim.resolve_precision); {instance} is a "
                f"{processor.upper()} instance: use auto or fp32",
                "error",
            )
        )
    if "bf16" in asked and processor == "cpu":
        # the package accepts bf16 on CPU; without native bf16 torch emulates it, so each trial pays for less
        native = cpu_has_native_bf16(instance)
        out.append(
            (
                f"precision bf16 on {instance}, a CPU instance "
                + (
                    "(AMX-BF16): mixed precision on CPU is rarely faster than fp32; use auto unless measured"
                    if native
                    else "whose processor has no native bf16: torch emulates it, slower than fp32; use auto "
                    "(fp32 on CPU) or an instance with AMX (ml.m7i, ml.c7i)"
                ),
                "warning" if native else "error",
            )
        )
    return out


def check_precision(spec: TuningJobSpec, findings: Findings) -> None:
    """Precision the instance cannot run: bf16 on a GPU older than Ampere, fp16 without a GPU."""
    instance = spec.training.instance_type
    processor = images.processor_for(instance)
    gpu = gpu_for(instance)
    need = ".".join(str(n) for n in BF16_MIN_COMPUTE_CAPABILITY)
    if spec.training.uses_bundled_package:
        where = reach(spec, "precision")
        path = where.where if where else "training.hyperparameters.precision"
        for message, severity in precision_problems(set(texts_of(spec, "precision", "auto")), instance):
            findings.add(path, message, severity)
        return
    fp16, bf16 = _truthy(spec, "fp16"), _truthy(spec, "bf16")
    static = spec.training.hyperparameters
    if str(static.get("fp16")).lower() == "true" and str(static.get("bf16")).lower() == "true":
        findings.add(
            "training.hyperparameters.bf16",
            "fp16 and bf16 are both true: transformers.TrainingArguments refuses that ('At most one of fp16 and "
            "bf16 can be True'); keep one",
        )
    if bf16 and gpu is not None and not gpu.bf16:
        findings.add(
            "training.hyperparameters.bf16",
            f"bf16 needs a GPU of compute capability >= {need}; {instance} has an {gpu.model}: transformers "
            "refuses it ('Your setup doesn't support bf16/gpu')",
            "warning",
        )
    if fp16 and processor != "gpu":
        findings.add(
            "training.hyperparameters.fp16",
            f"fp16 mixed precision needs a CUDA GPU; {instance} is a {processor.upper()} instance",
            "warning",
        )


def check_raw_precision(training: Mapping[str, Any], findings: Findings) -> None:
    """The bundled package's static ``precision`` against the instance, on a spec that did not validate (a
    CPU instance with the GPU-only default image is refused by the spec, and fp16 there is a second problem)."""
    where = "training.hyperparameters.precision"
    precision = hps.get("precision") if isinstance(hps := training.get("hyperparameters"), Mapping) else None
    instance = training.get("instance_type", TrainingSpec.model_fields["instance_type"].default)
    if training.get("entry_point") is not None or not isinstance(precision, str) or where in findings.error_paths():
        return
    if isinstance(instance, str) and instance in training_instance_types():
        for message, severity in precision_problems({precision}, instance):
            findings.add(where, message, severity)
