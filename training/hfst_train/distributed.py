"""Data-parallel training under ``torchrun``: one process per GPU (per CPU process in tests).

``torchrun`` (which SageMaker's ``sagemaker-training`` toolkit starts for
``sagemaker_torch_distributed_enabled``) sets ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``; without them (or with a
world of one) the job is a single process and nothing here starts.

Rules: the global batch is ``per_device_train_batch_size`` x world size x
``gradient_accumulation_steps``; every rank draws the same global batches (same
seed) and trains on its own contiguous slice of each; evaluation shards the
validation split the same way (uneven slices, no padding duplicates) and
gathers predictions to every rank. Only rank 0 prints metric lines and writes
checkpoints and the model. Every collective times out after
``HFST_DISTRIBUTED_TIMEOUT_SECONDS`` (default 600), so no rank waits forever
for a rank that died.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import torch

from hfst_train.errors import HyperparameterError

TIMEOUT_VARIABLE = "HFST_DISTRIBUTED_TIMEOUT_SECONDS"
DEFAULT_TIMEOUT_SECONDS = 600.0
#: What torchrun sets for every worker; all must be present for a distributed run.
TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")

T = TypeVar("T")


@dataclass(frozen=True)
class World:
    """This process's place among the training processes (a single process: rank 0 of 1)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def world_from_env(environ: Mapping[str, str]) -> World:
    """Read torchrun's variables; a world of one (or no torchrun) is the single-process path."""
    raw_timeout = environ.get(TIMEOUT_VARIABLE, "").strip()
    try:
        timeout = float(raw_timeout) if raw_timeout else DEFAULT_TIMEOUT_SECONDS
    except ValueError:
        timeout = -1.0
    if not timeout > 0:
        raise HyperparameterError(f"{TIMEOUT_VARIABLE}={raw_timeout!r} is not a positive number of seconds")
    size = environ.get("WORLD_SIZE", "").strip()
    if not size or int(size) <= 1:
        return World(timeout_seconds=timeout)
    missing = [name for name in TORCHRUN_VARIABLES if not environ.get(name)]
    if missing:
        raise HyperparameterError(
            f"WORLD_SIZE={size} but {', '.join(missing)} are not set: start distributed training with torchrun"
        )
    return World(int(environ["RANK"]), int(size), int(environ["LOCAL_RANK"]), timeout)


def device_for(world: World) -> torch.device:
    """This rank's device: its local GPU (``LOCAL_RANK``) when there are GPUs, else the CPU."""
    if not torch.cuda.is_available():
        return torch.device("cpu")
    if not world.enabled:
        return torch.device("cuda")
    torch.cuda.set_device(world.local_rank)
    return torch.device("cuda", world.local_rank)


def backend_for(device: torch.device) -> str:
    return "nccl" if device.type == "cuda" else "gloo"


def start(world: World, device: torch.device) -> None:
    """Join the process group (env:// rendezvous from torchrun's variables), with the bounded timeout."""
    if not world.enabled or torch.distributed.is_initialized():
        return
    torch.distributed.init_process_group(
        backend=backend_for(device),
        timeout=timedelta(seconds=world.timeout_seconds),
        rank=world.rank,
        world_size=world.world_size,
    )


def stop(world: World) -> None:
    if world.enabled and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def shard_bounds(size: int, rank: int, world_size: int) -> tuple[int, int]:
    """This rank's contiguous slice ``[start, end)`` of ``size`` items: disjoint, covering, sizes differ by <= 1.

    Written by hand because ``DistributedSampler`` pads with duplicates (or drops) to equalise
    the shards, which would count some validation examples twice.
    """
    return size * rank // world_size, size * (rank + 1) // world_size


def shard(items: Sequence[T], world: World) -> list[T]:
    start_, end = shard_bounds(len(items), world.rank, world.world_size)
    return list(items[start_:end])


def barrier(world: World) -> None:
    if world.enabled:
        torch.distributed.barrier()


def gather_objects(world: World, value: T) -> list[T]:
    """Every rank's ``value``, in rank order, on every rank (just ``[value]`` in a single process)."""
    if not world.enabled:
        return [value]
    gathered: list[Any] = [None] * world.world_size
    torch.distributed.all_gather_object(gathered, value)
    return gathered


def all_reduce_(world: World, tensor: torch.Tensor, op: str = "sum") -> torch.Tensor:
    """Reduce ``tensor`` in place across ranks (``sum`` or ``max``); a no-op in a single process."""
    if world.enabled:
        reduce_op = torch.distributed.ReduceOp.MAX if op == "max" else torch.distributed.ReduceOp.SUM
        torch.distributed.all_reduce(tensor, op=reduce_op)
    return tensor


def wrap(model: torch.nn.Module, world: World, device: torch.device) -> Any:
    """``DistributedDataParallel`` around the model in a distributed run (it broadcasts rank 0's weights)."""
    if not world.enabled:
        return model
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids)


@dataclass(frozen=True)
class Fault:
    """A fault injected by tests: ``HFST_TEST_FAIL_RANK_AT_STEP=<rank>:<step>[:hang]``.

    That rank raises after that optimizer step, or with ``:hang`` stops answering (sleeps),
    so that the other ranks meet the collective timeout.
    """

    rank: int
    step: int
    hang: bool

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Fault | None:
        raw = environ.get("HFST_TEST_FAIL_RANK_AT_STEP")
        if not raw:
            return None
        rank, step, *mode = raw.split(":")
        return cls(int(rank), int(step), mode == ["hang"])

    def strike(self, rank: int, step: int) -> None:
        if (rank, step) != (self.rank, self.step):
            return
        if self.hang:
            time.sleep(3600)
        raise RuntimeError(f"injected failure on rank {rank} after step {step} (HFST_TEST_FAIL_RANK_AT_STEP)")
