"""Every value a hyperparameter can take in some trial: its static value, its tuned range or values, or nothing."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..specs.job import TuningJobSpec
from ..specs.search_space import CategoricalParameter, IntegerParameter, categorical_text


@dataclass(frozen=True)
class Reach:
    """Where a hyperparameter is set and what it can be: a list of values, or an inclusive interval.

    Attributes:
        where: The spec field (``search_space.learning_rate`` or ``training.hyperparameters.learning_rate``).
        values: A static value, or a categorical range's values (as written).
        interval: A continuous or integer range's inclusive ``(min, max)``.
        integer: Whether the range is an integer range.
    """

    where: str
    values: tuple[Any, ...] = ()
    interval: tuple[float, float] | None = None
    integer: bool = False

    def numbers(self) -> Iterator[float]:
        """The listed values that read as finite numbers (bools and words skipped)."""
        for value in self.values:
            number = as_number(value)
            if number is not None:
                yield number

    def texts(self) -> list[str]:
        """The listed values as the training code receives them."""
        return [categorical_text(v) for v in self.values]

    def lowest(self) -> float | None:
        numbers = [self.interval[0]] if self.interval else list(self.numbers())
        return min(numbers) if numbers else None

    def highest(self) -> float | None:
        numbers = [self.interval[1]] if self.interval else list(self.numbers())
        return max(numbers) if numbers else None

    def reaching(self, *values: float) -> str:
        """``the range [0, 1] reaches 0`` for a range or values; ``the value 0`` for a static value."""
        shown = ", ".join(f"{v:g}" for v in values)
        if self.interval is not None or len(self.values) > 1:
            return f"{self.describe()} reaches {shown}"
        return f"the value {shown}"

    def describe(self) -> str:
        if self.interval is not None:
            return f"the range [{self.interval[0]:g}, {self.interval[1]:g}]"
        if self.where.startswith("search_space."):
            return f"the values {', '.join(self.texts())}"
        return f"the value {self.texts()[0]}"


def as_number(value: Any) -> float | None:
    """``value`` as a finite float (``"1e-5"`` too), or ``None`` for bools, words and non-finite numbers."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def reach(spec: TuningJobSpec, name: str) -> Reach | None:
    """What ``name`` can be across trials; ``None`` when it is neither tuned nor static (its default applies)."""
    if name in spec.search_space.names():
        param = spec.search_space[name]
        where = f"search_space.{name}"
        if isinstance(param, CategoricalParameter):
            return Reach(where, values=tuple(param.values))
        return Reach(where, interval=(param.min, param.max), integer=isinstance(param, IntegerParameter))
    if name in spec.training.hyperparameters:
        return Reach(f"training.hyperparameters.{name}", values=(spec.training.hyperparameters[name],))
    return None


def texts_of(spec: TuningJobSpec, name: str, default: str) -> list[str]:
    """Every text value ``name`` can take (its default when neither tuned nor static)."""
    found = reach(spec, name)
    if found is None or found.interval is not None:
        return [default] if found is None else []
    return found.texts()


def extreme(spec: TuningJobSpec, name: str, default: float, *, high: bool) -> float:
    """The largest (``high``) or smallest value ``name`` can take, its default when not set."""
    found = reach(spec, name)
    value = None if found is None else (found.highest() if high else found.lowest())
    return default if value is None else value
