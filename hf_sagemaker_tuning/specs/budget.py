"""What the user is willing to spend: a money or instance-hour ceiling checked before a job is submitted."""

from __future__ import annotations

from pydantic import Field, model_validator

from ._base import Spec


class BudgetSpec(Spec):
    """A spending ceiling for the worst case of a SageMaker tuning job.

    ``hfst validate`` and ``hfst compile`` warn when the worst case exceeds it; ``hfst tune --backend
    sagemaker`` (and ``tune()``) refuse to submit unless told to go ahead (``--allow-over-budget``).
    """

    max_cost: float | None = Field(
        None, gt=0, allow_inf_nan=False, description="Most money the worst case may cost (needs a price per hour)."
    )
    max_instance_hours: float | None = Field(
        None, gt=0, allow_inf_nan=False, description="Most instance-hours the worst case may bill."
    )
    price_per_hour: float | None = Field(
        None, gt=0, allow_inf_nan=False, description="Price of one training instance-hour, in `currency`."
    )
    currency: str = Field("USD", min_length=3, max_length=3, description="Currency of the prices (ISO 4217).")

    @model_validator(mode="after")
    def _some_limit(self) -> BudgetSpec:
        if self.max_cost is None and self.max_instance_hours is None:
            raise ValueError("a budget needs max_cost or max_instance_hours (or both)")
        return self
