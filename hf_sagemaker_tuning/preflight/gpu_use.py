"""How a trial uses the GPUs and instances the bill pays for: said before submit, idle ones flagged.

A SageMaker trial is billed per instance-hour, for every GPU of every instance (``training.instance_type`` x
``training.instance_count``), whether the training code uses them or not. ``training.distribution`` (resolved by
``TrainingSpec.launch``) decides what runs: ``torch_distributed`` starts one process per GPU on every instance
with torchrun; ``none`` starts one process per instance, which trains on one GPU. The GPU counts are
``gpus.GPUS_BY_INSTANCE_TYPE``.
"""

from __future__ import annotations

from ..specs.job import TuningJobSpec
from ._findings import Findings
from .gpus import gpus_of


def launch_description(spec: TuningJobSpec) -> str:
    """One line saying how each trial uses the instance's GPUs (what ``hfst validate``/``compile`` print)."""
    from ..compile.compiler import TORCH_DISTRIBUTED_HYPERPARAMETER

    training = spec.training
    gpus = gpus_of(training.instance_type)
    hardware = f"{training.instance_type}: {gpus.describe()}" if gpus else training.instance_type
    if training.instance_count > 1:
        hardware = f"{training.instance_count} x {hardware}"
    if training.launch == "torch_distributed":
        # The toolkit starts one process per GPU, one per instance on CPU (its runner.py).
        per_node = str(gpus.count) if gpus else ("1" if training.gpus_per_instance == 0 else "<GPUs per instance>")
        over = f"all {training.instance_count * gpus.count} GPUs" if gpus else f"{training.instance_count} instances"
        return (
            f"{hardware}; each trial runs data-parallel over {over} with torchrun (hyperparameter "
            f"{TORCH_DISTRIBUTED_HYPERPARAMETER}=true: the training toolkit launches torchrun --nnodes "
            f"{training.instance_count} --nproc_per_node {per_node})"
        )
    if gpus is not None:
        return f"{hardware}; each trial runs one process on one GPU per instance"
    return f"{hardware}; each trial runs one process per instance"


def idle_gpu_share(spec: TuningJobSpec) -> tuple[int, int] | None:
    """``(idle, total)`` GPUs of one trial when some sit idle, else ``None`` (all used, or counts unknown)."""
    training = spec.training
    gpus = gpus_of(training.instance_type)
    if gpus is None or training.launch == "torch_distributed":
        return None
    total = gpus.count * training.instance_count
    used = 1  # one process on one GPU: the other instances run nothing the trial's result depends on
    return (total - used, total) if total > used else None


def check_gpu_use(spec: TuningJobSpec, findings: Findings) -> None:
    """Say how each trial uses its GPUs; warn about GPUs and instances every trial pays for but leaves idle."""
    training = spec.training
    gpus = gpus_of(training.instance_type)
    if training.launch == "torch_distributed":
        findings.add("training.instance_type", launch_description(spec), "note")
    if training.instance_count > 1 and training.launch == "none":
        idle = training.instance_count - 1
        findings.add(
            "training.instance_count",
            f"{training.instance_count} instances with distribution none: each runs the training script alone, so "
            f"{idle} of {training.instance_count} instances per trial do work no result uses, and every trial pays "
            "for them: set training.distribution: torch_distributed (if the script supports torchrun) or "
            "instance_count: 1",
            "warning",
        )
    idle_share = idle_gpu_share(spec)
    if idle_share is not None and gpus is not None and gpus.count > 1:
        idle, total = idle_share
        how = (
            "set training.distribution: torch_distributed if your script supports torchrun (its variables "
            "RANK/LOCAL_RANK/WORLD_SIZE), or choose an instance with one GPU"
            if not training.uses_bundled_package
            else "remove training.distribution: none (the bundled package trains data-parallel with torchrun), "
            "or choose an instance with one GPU"
        )
        findings.add(
            "training.instance_type",
            f"{training.instance_type} has {gpus.describe()}; each trial trains on 1, so {idle} of {total} GPUs "
            f"({idle / total:.0%} of what every trial pays for) sit idle: {how}",
            "warning",
        )
    if (
        gpus is None
        and training.gpus_per_instance is None
        and training.distribution == "auto"
        and (training.uses_bundled_package)
    ):
        findings.add(
            "training.distribution",
            f"the GPU count of {training.instance_type} is not in hfst's table, so auto runs one process per "
            "instance; set distribution: torch_distributed to use every GPU",
            "note",
        )
