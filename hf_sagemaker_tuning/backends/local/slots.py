"""Where trials run: GPUs visible to this machine and the slots parallel trials take."""

from __future__ import annotations

import os
import shutil
import subprocess

#: One slot: the GPU id(s) for ``CUDA_VISIBLE_DEVICES`` (``None``: CPU) and the threads a trial may use.
Slot = tuple[str | None, int | None]


def detect_gpus() -> list[str]:
    """GPU ids visible to this process: ``CUDA_VISIBLE_DEVICES`` if set, else ``nvidia-smi -L``."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [g for g in visible.split(",") if g.strip() and g.strip() != "-1"]
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(out.splitlines()) if line.startswith("GPU ")]


def plan_slots(gpus: list[str], parallel: int, trials_per_gpu: int = 1, cpus: int | None = None) -> list[Slot]:
    """The slots ``parallel`` trials run in.

    On GPUs each trial gets one GPU (``trials_per_gpu`` trials share one), at most as many
    as there are GPU slots, and the cores are split between them. On CPUs the cores are split
    so parallel trials do not thrash (one thread each when more run than there are cores).
    """
    cores = cpus or os.cpu_count() or 1
    if gpus:
        gpu_slots = [g for g in gpus for _ in range(max(1, trials_per_gpu))]
        used = min(parallel, len(gpu_slots))
        per_trial = max(1, cores // used)
        return [(g, per_trial) for g in gpu_slots[:used]]
    threads: int | None = None if parallel == 1 else max(1, cores // parallel)
    return [(None, threads)] * parallel
