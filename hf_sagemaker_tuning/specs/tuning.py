"""How the tuner searches: strategy, budget, early stopping, completion and warm start."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from ._base import Spec
from ._errors import shorten
from .cross_validation import MAX_REPEATS, CrossValidationSpec, Selection

Strategy = Literal["bayesian", "random", "grid", "hyperband"]
STRATEGY_TO_API = {"bayesian": "Bayesian", "random": "Random", "grid": "Grid", "hyperband": "Hyperband"}
MAX_JOBS_LIMIT = 750
MAX_JOBS_LIMIT_RANDOM = 10_000
MAX_PARALLEL_LIMIT = 100
DEFAULT_PARALLEL_QUOTA = 10
MAX_RUNTIME_MIN, MAX_RUNTIME_MAX = 120, 15_768_000
HYPERBAND_MAX_RESOURCE = 20_000


class HyperbandSpec(Spec):
    """Hyperband's resource range, in epochs (the training package's ``epochs``)."""

    min_resource: int = Field(1, ge=1, le=HYPERBAND_MAX_RESOURCE, description="Fewest epochs a trial gets.")
    max_resource: int = Field(ge=1, le=HYPERBAND_MAX_RESOURCE, description="Most epochs a trial gets.")

    @model_validator(mode="after")
    def _order(self) -> HyperbandSpec:
        if self.min_resource > self.max_resource:
            raise ValueError(f"min_resource ({self.min_resource}) must not exceed max_resource ({self.max_resource})")
        return self


class CompletionSpec(Spec):
    """Stop the tuning job early when one of these holds."""

    target_objective_value: float | None = Field(
        None, allow_inf_nan=False, description="Stop once a trial reaches this objective value."
    )
    max_jobs_not_improving: int | None = Field(
        None, ge=3, le=MAX_JOBS_LIMIT_RANDOM, description="Stop after this many trials without a new best."
    )
    complete_on_convergence: bool = Field(False, description="Stop when the tuner detects convergence.")


class WarmStartSpec(Spec):
    """Start from what earlier tuning jobs learned."""

    type: Literal["identical_data_and_algorithm", "transfer_learning"] = "transfer_learning"
    parents: list[str] = Field(min_length=1, max_length=5, description="Names of 1 to 5 parent tuning jobs.")

    @field_validator("parents")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        for name in value:
            from ..compile.naming import job_name_problem  # botocore's rule, read when a spec is checked

            problem = job_name_problem(name)
            if problem is not None:
                raise ValueError(f"parent is not a tuning-job name: {problem}")
        if len(set(value)) != len(value):
            raise ValueError("parents are listed twice")
        return value


class TuningSpec(Spec):
    """The search itself."""

    strategy: Strategy = Field("bayesian", description="bayesian, random, grid or hyperband.")
    max_jobs: int | None = Field(
        None, ge=1, description="Trials in all (grid: defaults to the number of combinations)."
    )
    max_parallel_jobs: int = Field(1, ge=1, le=MAX_PARALLEL_LIMIT, description="Trials at once.")
    early_stopping: Literal["off", "auto"] = Field("off", description="auto: stop trials that lag (median rule).")
    hyperband: HyperbandSpec | None = Field(None, description="Hyperband's resource range (strategy hyperband).")
    completion: CompletionSpec | None = None
    max_runtime_seconds: int | None = Field(
        None, ge=MAX_RUNTIME_MIN, le=MAX_RUNTIME_MAX, description="Time limit of the whole tuning job."
    )
    random_seed: int | None = Field(None, ge=0, le=2**31 - 1, description="Seed for reproducible suggestions.")
    warm_start: WarmStartSpec | None = None
    cross_validation: CrossValidationSpec | None = Field(
        None, description="Score each trial by k-fold cross-validation (the mean over the folds)."
    )
    repeats: int = Field(
        1, ge=1, le=MAX_REPEATS, description="Train each configuration with this many seeds; score by the mean."
    )
    selection: Selection = Field(
        "best_mean",
        description=(
            "How the best trial is chosen: best_mean, or one_standard_error (of the trials within one standard "
            "error of the best mean, the one with the smallest spread)."
        ),
    )

    @property
    def runs_per_trial(self) -> int:
        """Training runs inside one trial: folds x repeats (1 without either)."""
        folds = self.cross_validation.folds if self.cross_validation is not None else 1
        return folds * self.repeats

    @property
    def averaged(self) -> bool:
        """Whether a trial's objective is a mean over several runs (folds or seeds)."""
        return self.runs_per_trial > 1

    @model_validator(mode="after")
    def _rules(self) -> TuningSpec:
        if self.strategy != "grid" and self.max_jobs is None:
            raise ValueError(f"max_jobs is required with strategy {shorten(self.strategy)}")
        limit = MAX_JOBS_LIMIT_RANDOM if self.strategy == "random" else MAX_JOBS_LIMIT
        if self.max_jobs is not None and self.max_jobs > limit:
            raise ValueError(f"max_jobs {self.max_jobs} exceeds SageMaker's limit of {limit} for {self.strategy}")
        if self.max_jobs is not None and self.max_parallel_jobs > self.max_jobs:
            raise ValueError(f"max_parallel_jobs ({self.max_parallel_jobs}) must not exceed max_jobs ({self.max_jobs})")
        if self.strategy == "hyperband":
            if self.early_stopping != "off":
                raise ValueError("early_stopping must be 'off' with strategy hyperband (Hyperband stops trials itself)")
            if self.hyperband is None:
                raise ValueError("strategy hyperband needs hyperband: {min_resource, max_resource}")
        elif self.hyperband is not None:
            raise ValueError(f"hyperband settings are for strategy hyperband, not {shorten(self.strategy)}")
        if self.averaged:
            what = "cross_validation" if self.cross_validation is not None else "repeats"
            # The objective is a mean over whole runs, known only at the trial's end: there is no per-epoch
            # value that means the same thing, so nothing may stop a trial on its intermediate values.
            if self.strategy == "hyperband":
                raise ValueError(
                    f"strategy hyperband cannot be used with {what}: Hyperband stops trials on per-epoch objective "
                    "values, and a cross-run mean exists only once every run has ended; use bayesian or random"
                )
            if self.early_stopping != "off":
                raise ValueError(
                    f"early_stopping must be 'off' with {what}: it compares per-epoch objective values, and a "
                    "cross-run mean exists only once every run has ended"
                )
        elif self.selection != "best_mean":
            raise ValueError(
                "selection one_standard_error needs a spread per trial: set cross_validation or repeats > 1"
            )
        if self.strategy == "grid" and self.completion is not None and self.completion.complete_on_convergence:
            raise ValueError("complete_on_convergence does not apply to strategy grid (it tries every combination)")
        return self

    @property
    def notes(self) -> list[str]:
        """Advice that is not an error (shown by ``hfst validate``)."""
        out = []
        if self.max_parallel_jobs > DEFAULT_PARALLEL_QUOTA:
            out.append(
                f"tuning.max_parallel_jobs={self.max_parallel_jobs} is above the default account quota of "
                f"{DEFAULT_PARALLEL_QUOTA} concurrent training jobs; request a quota increase first"
            )
        return out
