"""How the local backend spreads trials over this machine's GPUs and cores (the ``local:`` section)."""

from __future__ import annotations

from pydantic import Field, model_validator

from ._base import Spec
from ._errors import SpecFieldError


class LocalSpec(Spec):
    """Local backend only: GPUs and processes per trial, trials per GPU.

    ``hfst tune`` flags (``--gpus-per-trial``, ``--trials-per-gpu``, ``--processes-per-trial``) and
    ``LocalBackend(...)`` arguments override these fields; a field neither sets takes its default.
    """

    gpus_per_trial: int | None = Field(
        None,
        ge=1,
        description="GPUs each trial trains on, one process per GPU under torchrun (data-parallel). "
        "None: one GPU per trial.",
    )
    trials_per_gpu: int = Field(1, ge=1, description="Trials packed on one GPU (small models).")
    processes_per_trial: int = Field(
        1,
        ge=1,
        description="CPU only (no GPU visible): processes each trial trains with under torchrun (gloo).",
    )
    gpus: list[str] | None = Field(None, description="GPU ids to use (default: every visible GPU).")

    @model_validator(mode="after")
    def _one_way_to_share(self) -> LocalSpec:
        if self.gpus_per_trial is not None and self.gpus_per_trial > 1 and self.trials_per_gpu > 1:
            raise SpecFieldError(
                "trials_per_gpu",
                f"gpus_per_trial {self.gpus_per_trial} and trials_per_gpu {self.trials_per_gpu} cannot both be "
                "above 1: a distributed trial has its GPUs to itself (set one of them to 1)",
            )
        if self.gpus is not None and not self.gpus:
            raise SpecFieldError("gpus", "give at least one GPU id, or leave gpus out (every visible GPU)")
        return self

    def options(self) -> dict[str, object]:
        """The ``LocalBackend`` arguments this section sets (fields left at their default are left out)."""
        return {name: getattr(self, name) for name in self.model_fields_set}
