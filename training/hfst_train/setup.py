"""Build everything a run needs from the hyperparameters, and describe it (the effective configuration)."""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from hfst_train import distributed
from hfst_train.data import Collator, TokenizedSplit, load_channel, padding_ratio, sample_indices, train_batches
from hfst_train.engine import StepEngine
from hfst_train.errors import DataError
from hfst_train.lora import apply_lora, checkpointing_is_on, enable_gradient_checkpointing, lora_report
from hfst_train.metrics import MINIMIZED
from hfst_train.modeling import dropout_report, load_model_and_tokenizer, max_sequence_length
from hfst_train.optim import (
    Precision,
    StepPlan,
    build_optimizer,
    build_scheduler,
    lr_trace,
    plan_steps,
    resolve_precision,
)
from hfst_train.paths import ContainerPaths
from hfst_train.tasks import task_for


@dataclass
class TrainingSetup:
    """The model, data, optimizer, schedule and step engine of one run."""

    hps: dict[str, Any]
    device: torch.device
    model: nn.Module
    train_model: Any
    tokenizer: Any
    train: TokenizedSplit
    validation: TokenizedSplit
    train_collate: Collator
    eval_collate: Collator
    plan: StepPlan
    precision: Precision
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    engine: StepEngine
    world: distributed.World = field(default_factory=distributed.World)

    @property
    def global_train_batch_size(self) -> int:
        """Examples per optimizer step: per device x processes x accumulation."""
        return self.hps["per_device_train_batch_size"] * self.world.world_size * self.engine.accumulation_steps


def pick_device() -> torch.device:
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def load_splits(paths: ContainerPaths, hps: Mapping[str, Any]) -> tuple[TokenizedSplit, TokenizedSplit]:
    """Train and validation channels, cut to ``train_max_samples`` (seeded) and ``eval_max_samples`` (first N)."""
    train = load_channel(paths.train_channel, "train")
    validation = load_channel(paths.validation_channel, "validation")
    if validation.problem_type != train.problem_type:
        raise DataError(
            f"the validation channel holds {validation.problem_type} data and the train channel {train.problem_type}"
        )
    if validation.label_names != train.label_names:
        raise DataError(
            f"the validation labels {list(validation.label_names)} differ from "
            f"the train labels {list(train.label_names)}"
        )
    train = train.subset(sample_indices(len(train), hps["train_max_samples"], hps["seed"]))
    if hps["eval_max_samples"] > 0:
        validation = validation.subset(range(min(hps["eval_max_samples"], len(validation))))
    return train, validation


def build_setup(
    hps: dict[str, Any],
    train: TokenizedSplit,
    validation: TokenizedSplit,
    device: torch.device | None = None,
    environ: Mapping[str, str] | None = None,
    world: distributed.World | None = None,
) -> TrainingSetup:
    """Seed, load the model, and build collators, optimizer, schedule, precision and the step engine.

    Under DDP (``world``, process group already started) every rank loads the model from the same
    seed, the training module is wrapped in ``DistributedDataParallel``, and the torch RNG is then
    reseeded per rank so dropout masks differ between ranks (shuffling is seeded apart from it and agrees).
    """
    environ = os.environ if environ is None else environ
    world = world or distributed.World()
    device = device or pick_device()
    seed_everything(hps["seed"])
    _quiet_progress_bars()
    if device.type == "cuda":
        torch.set_float32_matmul_precision("high")  # TF32 matmuls
    model, tokenizer = load_model_and_tokenizer(
        hps["model_name_or_path"], train.label_names, hps["dropout"], train.problem_type
    )
    enable_gradient_checkpointing(model, hps["gradient_checkpointing"])
    model = apply_lora(model, hps)  # after checkpointing: peft keeps the base model's setting
    model.to(device)
    model.train()
    wrapped = distributed.wrap(model, world, device)
    train_model = maybe_compile(wrapped, hps["torch_compile"], device)
    if world.enabled:
        torch.manual_seed(hps["seed"] + world.rank)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    limit = max_sequence_length(model, tokenizer)
    multiple = hps["pad_to_multiple_of"]
    pin = device.type == "cuda"
    plan = plan_steps(len(train), hps, world.world_size)
    inject = environ.get("HFST_TEST_INJECT_NAN_AT_STEP")
    engine = build_engine(
        model,
        train_model,
        hps,
        plan,
        device,
        inject_nan_at_step=int(inject) if inject else None,
        world=world,
        no_sync=getattr(wrapped, "no_sync", None),
        loss_fn=task_for(train.problem_type).loss,
    )
    return TrainingSetup(
        hps=hps,
        device=device,
        model=model,
        train_model=train_model,
        tokenizer=tokenizer,
        train=train,
        validation=validation,
        train_collate=Collator(train, pad_id, multiple, limit, pin),
        eval_collate=Collator(validation, pad_id, multiple, limit, pin),
        plan=plan,
        precision=engine.precision,
        optimizer=engine.optimizer,
        scheduler=engine.scheduler,
        engine=engine,
        world=world,
    )


def maybe_compile(model: nn.Module, enabled: bool, device: torch.device) -> Any:
    """``torch.compile`` the training forward when asked (CUDA graphs via ``reduce-overhead`` on a GPU).

    Evaluation always runs the eager model: its batch shapes differ and would recompile.
    """
    if not enabled:
        return model
    return torch.compile(model, mode="reduce-overhead" if device.type == "cuda" else None, dynamic=False)


def build_engine(
    model: nn.Module,
    train_model: Any,
    hps: dict[str, Any],
    plan: StepPlan,
    device: torch.device,
    inject_nan_at_step: int | None = None,
    world: distributed.World | None = None,
    no_sync: Any = None,
    loss_fn: Any = None,
) -> StepEngine:
    """Optimizer, schedule, precision and the step engine for a model already on its device.

    ``train.py`` and the throughput benchmark both build their loop here.
    """
    optimizer = build_optimizer(model, hps, device)
    scheduler = build_scheduler(optimizer, hps["lr_scheduler_type"], plan)
    precision = resolve_precision(hps["precision"], device)
    return StepEngine(
        train_model,
        [p for p in model.parameters() if p.requires_grad],
        optimizer,
        scheduler,
        precision,
        device,
        max_grad_norm=hps["max_grad_norm"],
        accumulation_steps=hps["gradient_accumulation_steps"],
        label_smoothing=hps["label_smoothing"],
        inject_nan_at_step=inject_nan_at_step,
        world=world,
        no_sync=no_sync,
        loss_fn=loss_fn,
    )


def effective_config(setup: TrainingSetup) -> dict[str, Any]:
    """What the run actually uses, read from the built objects (tests prove each hyperparameter with it)."""
    hps = setup.hps
    optimizer = setup.optimizer
    groups = []
    for group in optimizer.param_groups:
        described = {key: value for key, value in group.items() if key != "params" and _plain(value)}
        described["num_tensors"] = len(group["params"])
        described["num_parameters"] = sum(p.numel() for p in group["params"])
        groups.append(described)
    world = setup.world
    epoch0 = [
        distributed.shard(batch, world)
        for batch in train_batches(
            setup.train.lengths,
            hps["per_device_train_batch_size"] * world.world_size,
            hps["seed"],
            0,
            hps["group_by_length"],
        )
    ]
    collate = setup.train_collate
    model_config: Any = setup.model.config
    return {
        "hyperparameters": hps,
        "model": {
            "name_or_path": hps["model_name_or_path"],
            "class": type(setup.model).__name__,
            "train_module": type(setup.train_model).__name__,
            "torch_compile": hps["torch_compile"],
            "num_parameters": sum(p.numel() for p in setup.model.parameters()),
            "id2label": {str(k): v for k, v in model_config.id2label.items()},
            "dropout": dropout_report(setup.model),
            "max_sequence_length": collate.max_length,
            "gradient_checkpointing": checkpointing_is_on(setup.model),
            "pad_token_id": getattr(model_config, "pad_token_id", None),
            "lora": lora_report(setup.model, hps),
        },
        "optimizer": {
            "class": f"{type(optimizer).__module__}.{type(optimizer).__name__}",
            "defaults": {key: value for key, value in optimizer.defaults.items() if _plain(value)},
            "param_groups": groups,
        },
        "scheduler": {
            "type": hps["lr_scheduler_type"],
            "class": type(setup.scheduler).__name__,
            "warmup_steps": setup.plan.warmup_steps,
            "total_steps": setup.plan.total_steps,
            "lr_multiplier_trace": lr_trace(setup.scheduler, setup.plan.total_steps),
        },
        "steps": {
            "micro_batches_per_epoch": setup.plan.micro_batches_per_epoch,
            "steps_per_epoch": setup.plan.steps_per_epoch,
            "total_steps": setup.plan.total_steps,
            "gradient_accumulation_steps": setup.engine.accumulation_steps,
            "train_batch_size": hps["per_device_train_batch_size"],
            "world_size": world.world_size,
            "effective_train_batch_size": setup.global_train_batch_size,
            "eval_batch_size": hps["per_device_eval_batch_size"],
            "eval_steps": hps["eval_steps"],
        },
        "data": {
            "problem_type": setup.train.problem_type,
            "num_train_examples": len(setup.train),
            "num_eval_examples": len(setup.validation),
            "label_names": list(setup.train.label_names),
            "group_by_length": hps["group_by_length"],
            "pad_to_multiple_of": collate.pad_to_multiple_of,
            "epoch0_padding_ratio": padding_ratio(
                setup.train.lengths, epoch0, collate.pad_to_multiple_of, collate.max_length
            ),
            "epoch0_first_batch": epoch0[0] if epoch0 else [],
            "pin_memory": collate.pin_memory,
        },
        "loss": {"label_smoothing": setup.engine.label_smoothing, "max_grad_norm": setup.engine.max_grad_norm},
        "precision": {
            "name": setup.precision.name,
            "autocast_dtype": str(setup.precision.autocast_dtype) if setup.precision.autocast_dtype else None,
            "grad_scaler": setup.engine.scaler.is_enabled(),
            "tf32_matmul": torch.get_float32_matmul_precision() != "highest",
        },
        "device": {
            "type": setup.device.type,
            "name": torch.cuda.get_device_name(setup.device) if setup.device.type == "cuda" else "cpu",
            "num_threads": torch.get_num_threads(),
        },
        "seed": hps["seed"],
        "distributed": {
            "world_size": world.world_size,
            "rank": world.rank,
            "backend": distributed.backend_for(setup.device) if world.enabled else None,
            "timeout_seconds": world.timeout_seconds if world.enabled else None,
        },
        "selection": {
            "metric_for_best_model": hps["metric_for_best_model"],
            "mode": "min" if hps["metric_for_best_model"] in MINIMIZED else "max",
            "save_model": hps["save_model"],
        },
        "versions": {"torch": torch.__version__, "transformers": _transformers_version()},
    }


def _quiet_progress_bars() -> None:
    """No tqdm bars from ``save_pretrained`` in the job's log (the metric lines are what matters there)."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]


def _plain(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_plain(item) for item in value)
    return value is None or isinstance(value, (bool, int, float, str))


def _transformers_version() -> str:
    import transformers

    return str(transformers.__version__)
