"""The training step: forward under autocast, loss, backward, optimizer step; no host sync per step.

The running loss and the first non-finite step are kept on the device and read
only when the loop asks (at logging and evaluation), so the GPU is never made
to wait for the host inside the step.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

import torch
from torch import nn
from torch.nn.functional import cross_entropy

from hfst_train.distributed import World, all_reduce_
from hfst_train.errors import NonFiniteLossError
from hfst_train.optim import Precision


class StepEngine:
    """Runs micro-batches and optimizer steps for one model (gradient accumulation, clipping, scaling)."""

    def __init__(
        self,
        model: Callable[..., object],
        parameters: list[nn.Parameter],
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler,
        precision: Precision,
        device: torch.device,
        *,
        max_grad_norm: float,
        accumulation_steps: int,
        label_smoothing: float,
        inject_nan_at_step: int | None = None,
        world: World | None = None,
        no_sync: Callable[[], AbstractContextManager[object]] | None = None,
        loss_fn: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor] | None = None,
    ) -> None:
        self.model = model
        self.parameters = parameters
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.precision = precision
        self.device = device
        self.max_grad_norm = max_grad_norm
        self.accumulation_steps = accumulation_steps
        self.label_smoothing = label_smoothing
        self.inject_nan_at_step = inject_nan_at_step
        self.world = world or World()
        #: ``DistributedDataParallel.no_sync``: micro-batches before the last of a step skip the all-reduce.
        self.no_sync = no_sync
        #: The problem type's training loss (``Task.loss``: logits, labels, label smoothing); default cross-entropy.
        self.loss_fn = loss_fn or _cross_entropy
        self.scaler = torch.amp.GradScaler(device.type, enabled=precision.grad_scaler)
        self.step = 0
        self.pending = 0
        self.examples = 0
        self._loss_sum = torch.zeros((), dtype=torch.float32, device=device)
        self._first_bad_step = torch.full((), -1, dtype=torch.long, device=device)

    def autocast(self) -> AbstractContextManager[object]:
        """Autocast to the resolved dtype (a no-op in fp32)."""
        dtype = self.precision.autocast_dtype
        return torch.autocast(self.device.type, dtype=dtype or torch.float32, enabled=dtype is not None)

    def micro_step(
        self,
        batch: dict[str, torch.Tensor],
        *,
        share: float = 1.0,
        examples: int | None = None,
        sync: bool = False,
    ) -> bool:
        """Forward and backward one micro-batch; returns True when it completed an optimizer step.

        Under DDP a rank holds one slice of the global batch: ``share`` (its size x world size /
        the global batch's size) weights its mean loss so that the averaged gradient is the
        gradient of the global batch's mean, even when slices differ in size; ``examples``
        is what the slice counts for the running loss (0 for a stand-in of an empty slice).
        ``sync`` forces the gradient all-reduce (the last micro-batch of an epoch, which may
        end a step early).
        """
        labels = batch["labels"]
        completes = self.pending + 1 == self.accumulation_steps
        skip_sync = self.no_sync is not None and not (completes or sync)
        with self.no_sync() if skip_sync and self.no_sync is not None else nullcontext():
            with self.autocast():
                output = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
            logits = output.logits  # type: ignore[attr-defined]
            loss = self.loss_fn(logits, labels, self.label_smoothing)
            if self.inject_nan_at_step is not None and self.step + 1 == self.inject_nan_at_step:
                loss = loss * float("nan")
            detached = loss.detach()
            counted = int(labels.shape[0]) if examples is None else examples
            self._loss_sum += detached * counted
            self.examples += counted
            keep = torch.isfinite(detached) | (self._first_bad_step >= 0)
            self._first_bad_step = torch.where(keep, self._first_bad_step, self.step + 1)
            scaled = loss if share == 1.0 else loss * share
            self.scaler.scale(scaled / self.accumulation_steps).backward()  # type: ignore[no-untyped-call]
        self.pending += 1
        if completes:
            self.optimizer_step()
            return True
        return False

    def optimizer_step(self) -> None:
        """Clip, step the optimizer and the schedule, clear gradients."""
        if self.max_grad_norm > 0:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.parameters, self.max_grad_norm, foreach=self.device.type == "cuda")
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        self.pending = 0

    def check_finite(self) -> None:
        """Fail with the step number if any loss so far was NaN or infinite (one host sync).

        Under DDP the ranks agree (a max over ranks), so every rank fails at the same check.
        """
        flag = all_reduce_(self.world, self._first_bad_step.clone(), op="max")
        bad = int(flag.item())
        if bad >= 0:
            raise NonFiniteLossError(f"training loss became NaN or infinite at optimizer step {bad}")

    def take_train_loss(self) -> tuple[float, int]:
        """Mean training loss per example and the example count since the last call (all ranks); resets both."""
        count = torch.tensor(float(self.examples), dtype=torch.float64, device=self.device)
        totals = all_reduce_(self.world, torch.stack([self._loss_sum.double(), count]))
        loss_sum, examples = float(totals[0].item()), int(totals[1].item())
        mean = loss_sum / examples if examples else float("nan")
        self._loss_sum.zero_()
        self.examples = 0
        return mean, examples

    def synchronize(self) -> None:
        """Wait for queued GPU work (for timing)."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


def _cross_entropy(logits: torch.Tensor, labels: torch.Tensor, label_smoothing: float) -> torch.Tensor:
    return cross_entropy(logits.float(), labels, label_smoothing=label_smoothing)
