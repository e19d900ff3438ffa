"""Optimizer, learning-rate schedule and precision, built from the hyperparameters."""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from hfst_train.errors import HyperparameterError

#: Cycles of ``cosine_with_restarts`` (with one cycle it would be plain ``cosine``).
RESTART_CYCLES = 2
SCHEDULERS = ("linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup")


def no_decay_parameter_names(model: nn.Module) -> set[str]:
    """Biases and the weights of normalisation layers (LayerNorm, RMSNorm, ...): never weight-decayed."""
    names: set[str] = set()
    for module_name, module in model.named_modules():
        is_norm = isinstance(module, (nn.LayerNorm, nn.GroupNorm)) or "norm" in type(module).__name__.lower()
        for param_name, _ in module.named_parameters(recurse=False):
            full = f"{module_name}.{param_name}" if module_name else param_name
            if is_norm or param_name == "bias":
                names.add(full)
    return names


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Two groups: decayed weights, and biases plus norm weights with no decay."""
    skip = no_decay_parameter_names(model)
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for name, param in model.named_parameters():
        if param.requires_grad:
            (no_decay if name in skip else decay).append(param)
    return [
        {"params": decay, "weight_decay": weight_decay, "group": "decay"},
        {"params": no_decay, "weight_decay": 0.0, "group": "no_decay"},
    ]


def _supports(cls: type, argument: str) -> bool:
    return argument in inspect.signature(cls).parameters


def build_optimizer(model: nn.Module, hps: dict[str, Any], device: torch.device) -> torch.optim.Optimizer:
    """The optimizer named by ``optimizer``, with its hyperparameters and the decay/no-decay groups."""
    groups = parameter_groups(model, hps["weight_decay"])
    lr = hps["learning_rate"]
    betas = (hps["adam_beta1"], hps["adam_beta2"])
    name = hps["optimizer"]
    fused = device.type in ("cuda", "cpu")  # fused kernels exist for both since torch 2.4
    if name == "adamw":
        extra = {"fused": True} if fused and _supports(torch.optim.AdamW, "fused") else {}
        return torch.optim.AdamW(groups, lr=lr, betas=betas, eps=hps["adam_epsilon"], **extra)
    if name == "adam":
        extra = {"fused": True} if fused and _supports(torch.optim.Adam, "fused") else {}
        return torch.optim.Adam(groups, lr=lr, betas=betas, eps=hps["adam_epsilon"], **extra)
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=hps["sgd_momentum"])
    if name == "adafactor":
        from transformers.optimization import Adafactor

        beta1 = hps["adam_beta1"] if hps["adam_beta1"] > 0 else None
        return Adafactor(  # type: ignore[no-untyped-call]
            groups, lr=lr, beta1=beta1, scale_parameter=False, relative_step=False, warmup_init=False
        )
    raise HyperparameterError(f"optimizer {name!r} is not one of adamw, adam, sgd, adafactor")


@dataclass(frozen=True)
class StepPlan:
    """How many optimizer steps the run takes and how many of them warm up."""

    micro_batches_per_epoch: int
    steps_per_epoch: int
    total_steps: int
    warmup_steps: int


def plan_steps(num_examples: int, hps: dict[str, Any], world_size: int = 1) -> StepPlan:
    """Resolve epochs/max_steps and warmup_steps/warmup_ratio into step counts.

    A micro-batch is global: ``per_device_train_batch_size`` examples on each of ``world_size`` processes.
    """
    micro = math.ceil(num_examples / (hps["per_device_train_batch_size"] * world_size))
    steps_per_epoch = math.ceil(micro / hps["gradient_accumulation_steps"])
    total = hps["max_steps"] if hps["max_steps"] > 0 else math.ceil(hps["epochs"] * steps_per_epoch)
    warmup = hps["warmup_steps"] if hps["warmup_steps"] > 0 else math.ceil(hps["warmup_ratio"] * total)
    return StepPlan(micro, steps_per_epoch, total, min(warmup, total))


def build_scheduler(
    optimizer: torch.optim.Optimizer, name: str, plan: StepPlan
) -> torch.optim.lr_scheduler.LRScheduler:
    """The learning-rate schedule (``transformers.get_scheduler``: same names and shapes as ``Trainer``)."""
    from transformers.optimization import get_scheduler

    if name not in SCHEDULERS:
        raise HyperparameterError(f"lr_scheduler_type {name!r} is not one of {list(SCHEDULERS)}")
    extra = {"num_cycles": RESTART_CYCLES} if name == "cosine_with_restarts" else None
    scheduler: torch.optim.lr_scheduler.LRScheduler = get_scheduler(
        name,
        optimizer,
        num_warmup_steps=plan.warmup_steps,
        num_training_steps=max(plan.total_steps, 1),
        scheduler_specific_kwargs=extra,
    )
    return scheduler


def lr_trace(scheduler: torch.optim.lr_scheduler.LRScheduler, total_steps: int, points: int = 9) -> list[list[float]]:
    """``[step, lr multiplier]`` at a few steps across the run, read from the schedule itself (no stepping)."""
    lambdas = getattr(scheduler, "lr_lambdas", None)
    if not lambdas:
        return []
    steps = sorted({round(total_steps * i / (points - 1)) for i in range(points)})
    return [[step, float(lambdas[0](step))] for step in steps]


@dataclass(frozen=True)
class Precision:
    """The resolved precision: autocast dtype (None = fp32) and whether a GradScaler runs."""

    name: str
    autocast_dtype: torch.dtype | None
    grad_scaler: bool


def resolve_precision(requested: str, device: torch.device, bf16_supported: bool | None = None) -> Precision:
    """``auto``: bf16 on GPUs that support it, fp16 (with a GradScaler) on other GPUs, fp32 on CPU."""
    if device.type == "cuda" and bf16_supported is None:
        bf16_supported = torch.cuda.is_bf16_supported()
    if requested == "auto":
        requested = "fp32" if device.type != "cuda" else "bf16" if bf16_supported else "fp16"
    if requested == "fp32":
        return Precision("fp32", None, False)
    if requested == "bf16":
        if device.type == "cuda" and not bf16_supported:
            raise HyperparameterError("precision 'bf16' was asked for but this GPU does not support bf16; use fp16")
        return Precision("bf16", torch.bfloat16, False)
    if requested == "fp16":
        if device.type != "cuda":
            raise HyperparameterError("precision 'fp16' needs a CUDA GPU (use bf16 or fp32 on CPU)")
        return Precision("fp16", torch.float16, True)
    raise HyperparameterError(f"precision {requested!r} is not one of auto, bf16, fp16, fp32")
