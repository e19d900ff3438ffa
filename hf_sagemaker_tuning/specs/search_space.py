"""Tuned hyperparameters: continuous, integer and categorical ranges.

Bounds are **inclusive** everywhere (``min <= value <= max``), as in SageMaker
Automatic Model Tuning. Scaling follows AMT's rules:

* ``auto`` lets the tuner choose (the local backend samples linearly);
* ``logarithmic`` needs ``min > 0``;
* ``reverse_logarithmic`` is for continuous parameters only and needs ``0 <= min < max < 1``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, RootModel, ValidationError, field_validator, model_validator
from pydantic_core import PydanticUndefined
from typing_extensions import Self

from ._base import Spec, validate_spec
from ._errors import shorten, spec_error

#: SageMaker's pattern for hyperparameter names (ParameterKey): letters, digits, ``_.:/=+-@``, 1-256 chars.
HYPERPARAMETER_NAME = re.compile(r"^[\w.:/=+\-@]{1,256}$", re.ASCII)
MAX_TUNED_PARAMETERS = 30
MAX_CATEGORICAL_VALUES = 30
MAX_VALUE_LENGTH = 256

Scaling = Literal["auto", "linear", "logarithmic", "reverse_logarithmic"]

#: How each scaling is spelled in the CreateHyperParameterTuningJob request.
SCALING_TO_API: dict[str, str] = {
    "auto": "Auto",
    "linear": "Linear",
    "logarithmic": "Logarithmic",
    "reverse_logarithmic": "ReverseLogarithmic",
}


def _check_bounds(lo: float, hi: float, scaling: str) -> None:
    if lo >= hi:
        raise ValueError(f"min ({shorten(lo)}) must be smaller than max ({shorten(hi)}); bounds are inclusive")
    if scaling == "logarithmic" and lo <= 0:
        raise ValueError(f"scaling 'logarithmic' needs min > 0, got min={shorten(lo)}")


class ContinuousParameter(Spec):
    """A real-valued range, ``min <= x <= max``."""

    kind: Literal["continuous"] = "continuous"
    min: float = Field(allow_inf_nan=False, description="Inclusive lower bound.")
    max: float = Field(allow_inf_nan=False, description="Inclusive upper bound.")
    scaling: Scaling = "auto"

    @model_validator(mode="after")
    def _bounds(self) -> ContinuousParameter:
        _check_bounds(self.min, self.max, self.scaling)
        if self.scaling == "reverse_logarithmic" and not (0 <= self.min < self.max < 1):
            raise ValueError(
                f"scaling 'reverse_logarithmic' needs 0 <= min < max < 1, got min={self.min!r}, max={self.max!r}"
            )
        return self


class IntegerParameter(Spec):
    """An integer range, ``min <= n <= max``."""

    kind: Literal["integer"] = "integer"
    min: int = Field(description="Inclusive lower bound.")
    max: int = Field(description="Inclusive upper bound.")
    scaling: Literal["auto", "linear", "logarithmic"] = Field(
        "auto", description="reverse_logarithmic is allowed for continuous parameters only."
    )

    @field_validator("scaling", mode="before")
    @classmethod
    def _no_reverse_log(cls, value: object) -> object:
        if value == "reverse_logarithmic":
            raise ValueError("scaling 'reverse_logarithmic' is allowed for continuous parameters only")
        return value

    @model_validator(mode="after")
    def _bounds(self) -> IntegerParameter:
        _check_bounds(self.min, self.max, self.scaling)
        return self


class CategoricalParameter(Spec):
    """A set of values; sent as strings exactly as written."""

    kind: Literal["categorical"] = "categorical"
    values: list[str | int | float | bool] = Field(min_length=1, max_length=MAX_CATEGORICAL_VALUES)

    @field_validator("values")
    @classmethod
    def _values(cls, values: list[str | int | float | bool]) -> list[str | int | float | bool]:
        seen: set[str] = set()
        for value in values:
            text = categorical_text(value)
            if not text or len(text) > MAX_VALUE_LENGTH:
                raise ValueError(f"value {shorten(value)} must be 1 to {MAX_VALUE_LENGTH} characters long")
            if text in seen:
                raise ValueError(f"value {shorten(value)} is listed twice")
            seen.add(text)
        return values

    @property
    def api_values(self) -> list[str]:
        """The values as the request carries them (strings)."""
        return [categorical_text(v) for v in self.values]


def categorical_text(value: str | int | float | bool) -> str:
    """The string a categorical value is sent as (``True`` -> ``"true"``, as train.py parses it)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


Parameter = Annotated[
    ContinuousParameter | IntegerParameter | CategoricalParameter,
    Field(discriminator="kind"),
]


class SearchSpace(RootModel[dict[str, Parameter]]):
    """The tuned hyperparameters, by name (at most 30)."""

    model_config = {"frozen": True}

    def __init__(self, /, root: Any = PydanticUndefined, **data: Any) -> None:
        try:
            super().__init__(root, **data)
        except ValidationError as exc:
            raise spec_error(exc, model="SearchSpace") from None

    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]  # nested: validated by the parent

    @classmethod
    def model_validate(cls, obj: Any, **options: Any) -> Self:
        """Validate ``obj`` (name -> parameter) as a search space; raise ``SpecError`` naming each bad field."""
        result: Self = validate_spec(cls, obj, **options)
        return result

    @model_validator(mode="after")
    def _names(self) -> SearchSpace:
        if not self.root:
            raise ValueError("at least one hyperparameter must be tuned")
        if len(self.root) > MAX_TUNED_PARAMETERS:
            raise ValueError(f"{len(self.root)} tuned hyperparameters; SageMaker allows at most {MAX_TUNED_PARAMETERS}")
        for name in self.root:
            if not HYPERPARAMETER_NAME.match(name):
                raise ValueError(
                    f"hyperparameter name {shorten(name)} is not allowed: use 1-256 letters, digits or _.:/=+-@"
                )
        return self

    def __getitem__(self, name: str) -> ContinuousParameter | IntegerParameter | CategoricalParameter:
        return self.root[name]

    def items(self) -> list[tuple[str, ContinuousParameter | IntegerParameter | CategoricalParameter]]:
        return list(self.root.items())

    def names(self) -> list[str]:
        return list(self.root)

    @property
    def only_categorical(self) -> bool:
        return all(isinstance(p, CategoricalParameter) for p in self.root.values())

    def grid_size(self) -> int:
        """Number of combinations of the categorical values (the Grid strategy's job count)."""
        size = 1
        for param in self.root.values():
            if isinstance(param, CategoricalParameter):
                size *= len(param.values)
        return size
