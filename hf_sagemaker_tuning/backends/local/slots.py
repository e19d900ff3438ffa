"""Where trials run: GPUs visible to this machine and the slots parallel trials take."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess

from ...errors import BackendError
from .state import LocalOptions

log = logging.getLogger("hf_sagemaker_tuning.local")

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


def plan_slots(
    gpus: list[str],
    parallel: int,
    trials_per_gpu: int = 1,
    cpus: int | None = None,
    *,
    gpus_per_trial: int | None = None,
    processes_per_trial: int = 1,
) -> list[Slot]:
    """The slots ``parallel`` trials run in.

    On GPUs each trial gets one GPU (``trials_per_gpu`` trials share one), or ``gpus_per_trial``
    GPUs of its own (a distributed trial never shares a GPU; GPUs left over are unused, with a
    warning), at most as many slots as ``parallel``, and the cores are split between them. On
    CPUs the cores are split so parallel trials do not thrash (one thread each when more run
    than there are cores); a trial of ``processes_per_trial`` processes splits its share again
    (``threads_per_process``).

    Raises:
        BackendError: ``gpus_per_trial`` is more than the GPUs there are.
    """
    cores = cpus or os.cpu_count() or 1
    if gpus:
        per = gpus_per_trial or 1
        if per > len(gpus):
            raise BackendError(
                f"gpus_per_trial {per} needs {per} GPUs; this machine shows {len(gpus)} ({','.join(gpus)})"
            )
        if per > 1:
            groups = [",".join(gpus[i : i + per]) for i in range(0, len(gpus) - per + 1, per)]
            left = gpus[len(groups) * per :]
            if left:
                log.warning(
                    "gpus_per_trial %d: %d GPU(s) left unused (%s); %d trial(s) run at once",
                    per,
                    len(left),
                    ",".join(left),
                    len(groups),
                )
            gpu_slots = groups
        else:
            gpu_slots = [g for g in gpus for _ in range(max(1, trials_per_gpu))]
        used = min(parallel, len(gpu_slots))
        per_trial = max(1, cores // used)
        return [(g, per_trial) for g in gpu_slots[:used]]
    if processes_per_trial > 1:  # every process of every parallel trial gets at least one thread
        return [(None, max(processes_per_trial, cores // parallel))] * parallel
    threads: int | None = None if parallel == 1 else max(1, cores // parallel)
    return [(None, threads)] * parallel


def processes_of(gpus: str | None, options: LocalOptions) -> int:
    """How many processes a trial in a slot of ``gpus`` (``None``: CPU) runs: one per GPU of a
    ``gpus_per_trial`` slot, ``processes_per_trial`` on CPU."""
    if gpus is not None:
        return len(gpus.split(",")) if options.gpus_per_trial else 1
    return options.processes_per_trial


def threads_per_process(threads: int | None, processes: int, cpus: int | None = None) -> int | None:
    """A slot's threads split between a trial's processes (``None``: a single process, no limit)."""
    if processes <= 1:
        return threads
    return max(1, (threads or cpus or os.cpu_count() or 1) // processes)
