"""One model of a tuned hyperparameter's range, for search, results, plots and narrowing.

A ``ParameterRange`` is built from the spec (``ranges_from_spec``), from the compiled request
(``ranges_from_request``) or from a DescribeHyperParameterTuningJob answer
(``ranges_from_description``), and says everything callers need:

* ``to_optuna()``: the optuna distribution, under ``optuna_name`` (``1-<name>`` for
  ``ReverseLogarithmic``, whose ``1 - x`` is sampled log-uniformly, dense near 1);
* ``transform`` / ``inverse``: to and from the scale values are drawn uniformly in
  (``log x``, ``log(1 - x)`` or ``x``), and ``normalize`` onto ``[0, 1]`` in that scale;
* ``contains``: bounds are inclusive; categorical values by their string;
* ``format`` / ``parse``: the string SageMaker passes (floats by ``repr``) and back.

Scaling ``Auto`` is treated as ``Linear`` (the local backend samples it uniformly).
Importing this module is cheap: optuna is imported only by ``to_optuna``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

from .errors import SpecError

if TYPE_CHECKING:  # pragma: no cover
    from optuna.distributions import BaseDistribution

    from .compile.request import TuningJobRequest
    from .specs import TuningJobSpec
    from .specs.search_space import CategoricalParameter, ContinuousParameter, IntegerParameter, SearchSpace

    SpecParameter = ContinuousParameter | IntegerParameter | CategoricalParameter

__all__ = [
    "KINDS",
    "REVERSE_PREFIX",
    "SCALINGS",
    "Kind",
    "ParameterRange",
    "Scaling",
    "format_value",
    "ranges_from_description",
    "ranges_from_request",
    "ranges_from_spec",
    "unquote",
]

Kind = Literal["integer", "continuous", "categorical"]
Scaling = Literal["Auto", "Linear", "Logarithmic", "ReverseLogarithmic"]
Value = int | float | str

KINDS: tuple[Kind, ...] = ("integer", "continuous", "categorical")
SCALINGS: tuple[Scaling, ...] = ("Auto", "Linear", "Logarithmic", "ReverseLogarithmic")
#: Prefix of optuna parameter names that hold ``1 - x`` for reverse-log parameters.
REVERSE_PREFIX = "1-"
#: Keys of the request's ``ParameterRanges``, by kind.
RANGE_KEYS: dict[Kind, str] = {
    "integer": "IntegerParameterRanges",
    "continuous": "ContinuousParameterRanges",
    "categorical": "CategoricalParameterRanges",
}


def unquote(text: Any) -> str:
    """A hyperparameter value without the JSON quotes SDK v2 adds (``'"adamw"'`` -> ``'adamw'``)."""
    value = str(text)
    if len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            decoded = json.loads(value)
        except ValueError:
            return value
        if isinstance(decoded, str):
            return decoded
    return value


def format_value(value: Any) -> str:
    """A hyperparameter value as SageMaker passes it: a string (floats by ``repr``, booleans lower-case)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


@dataclass(frozen=True)
class ParameterRange:
    """One tuned hyperparameter's range. Bounds are inclusive (``low <= value <= high``).

    Attributes:
        name: the hyperparameter's name.
        kind: ``"integer"``, ``"continuous"`` or ``"categorical"``.
        low: lower bound (numeric kinds; an ``int`` for integers).
        high: upper bound (numeric kinds; an ``int`` for integers).
        scaling: ``Auto``, ``Linear``, ``Logarithmic`` or ``ReverseLogarithmic`` (numeric kinds).
        values: the allowed values as strings (categorical).

    Raises:
        SpecError: an unknown kind or scaling, bounds out of order, or a scaling the bounds do not allow.
    """

    name: str
    kind: Kind
    low: float = 0.0
    high: float = 0.0
    scaling: Scaling = "Auto"
    values: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        where = f"parameter {self.name!r}"
        if self.kind not in KINDS:
            raise SpecError(f"{where}: unknown kind {self.kind!r}; choose one of {', '.join(KINDS)}")
        if self.scaling not in SCALINGS:
            raise SpecError(f"{where}: unknown scaling {self.scaling!r}; choose one of {', '.join(SCALINGS)}")
        if self.kind == "categorical":
            if not self.values:
                raise SpecError(f"{where}: a categorical range needs at least one value")
            object.__setattr__(self, "values", tuple(format_value(v) for v in self.values))
            return
        if not (math.isfinite(self.low) and math.isfinite(self.high)) or self.low > self.high:
            raise SpecError(f"{where}: bounds [{self.low!r}, {self.high!r}] must be finite with low <= high")
        if self.kind == "integer":
            if self.low != int(self.low) or self.high != int(self.high):
                raise SpecError(f"{where}: integer bounds must be whole numbers, got [{self.low!r}, {self.high!r}]")
            if self.scaling == "ReverseLogarithmic":
                raise SpecError(f"{where}: scaling ReverseLogarithmic is allowed for continuous parameters only")
            object.__setattr__(self, "low", int(self.low))
            object.__setattr__(self, "high", int(self.high))
        else:
            object.__setattr__(self, "low", float(self.low))
            object.__setattr__(self, "high", float(self.high))
        if self.scaling == "Logarithmic" and self.low <= 0:
            raise SpecError(f"{where}: scaling Logarithmic needs low > 0, got {self.low!r}")
        if self.scaling == "ReverseLogarithmic" and not (self.low >= 0 and self.high < 1):
            raise SpecError(f"{where}: scaling ReverseLogarithmic needs 0 <= low and high < 1")

    # ------------------------------------------------------------ constructors
    @classmethod
    def from_spec(cls, name: str, param: SpecParameter) -> ParameterRange:
        """The range of one spec parameter (``ContinuousParameter``, ``IntegerParameter``, ``CategoricalParameter``)."""
        from .specs.search_space import SCALING_TO_API, CategoricalParameter, categorical_text

        if isinstance(param, CategoricalParameter):
            return cls(name, "categorical", values=tuple(categorical_text(v) for v in param.values))
        scaling = cast(Scaling, SCALING_TO_API[param.scaling])
        return cls(name, param.kind, param.min, param.max, scaling)

    @classmethod
    def from_api(cls, kind: Kind, shape: Mapping[str, Any]) -> ParameterRange:
        """One range as the API spells it (``{"Name", "MinValue", "MaxValue", "ScalingType"}`` or
        ``{"Name", "Values"}``); values may carry SDK v2's JSON quotes."""
        name = str(shape["Name"])
        if kind == "categorical":
            return cls(name, kind, values=tuple(unquote(v) for v in shape.get("Values") or ()))
        try:
            low, high = (float(unquote(shape[key])) for key in ("MinValue", "MaxValue"))
        except ValueError as exc:
            raise SpecError(f"parameter {name!r}: bounds are not numbers: {exc}") from exc
        return cls(name, kind, low, high, cast(Scaling, shape.get("ScalingType") or "Auto"))

    # ------------------------------------------------------------------ scale
    @property
    def numeric(self) -> bool:
        return self.kind != "categorical"

    @property
    def log(self) -> bool:
        """Whether values are drawn log-uniformly (``Logarithmic``; reverse-log is ``reverse``)."""
        return self.numeric and self.scaling == "Logarithmic"

    @property
    def reverse(self) -> bool:
        """Whether ``1 - x`` is drawn log-uniformly (``ReverseLogarithmic``)."""
        return self.kind == "continuous" and self.scaling == "ReverseLogarithmic"

    def transform(self, value: Any) -> float:
        """A numeric value on the scale it is drawn uniformly in: ``log x``, ``log(1 - x)`` or ``x``."""
        x = self._number(value)
        if self.log:
            return math.log(x)
        if self.reverse:
            return math.log(1.0 - x)
        return x

    def inverse(self, x: float) -> float:
        """The inverse of ``transform`` (not rounded or clipped; integers come back as floats)."""
        if self.kind == "categorical":
            raise SpecError(f"parameter {self.name!r} is categorical: it has no numeric scale")
        if self.log:
            return math.exp(x)
        if self.reverse:
            return 1.0 - math.exp(x)
        return float(x)

    def normalize(self, value: Any) -> float:
        """Where a value lies between the bounds, ``0`` to ``1``, in the range's own scale.

        Categorical values map to their position among ``values``; an unknown value to ``0``.
        A range with one point maps to ``0.5``.
        """
        if self.kind == "categorical":
            index = {v: k for k, v in enumerate(self.values)}
            return index.get(format_value(unquote(value) if isinstance(value, str) else value), 0) / max(
                len(self.values) - 1, 1
            )
        a, b = self.transform(self.low), self.transform(self.high)  # reverse-log: a > b, still low -> 0
        x = self.transform(min(max(self._number(value), self.low), self.high))
        return 0.5 if b == a else (x - a) / (b - a)

    # ----------------------------------------------------------------- values
    def contains(self, value: Any) -> bool:
        """Whether a value (a SageMaker string or a Python value) lies in the range, bounds included."""
        if self.kind == "categorical":
            text = unquote(value) if isinstance(value, str) else format_value(value)
            return text in self.values
        try:
            number = self.parse(value) if isinstance(value, str) else value
            if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number):
                return False
        except SpecError:
            return False
        if self.kind == "integer" and number != int(number):
            return False
        return self.low <= number <= self.high

    def format(self, value: Any) -> str:
        """The string SageMaker passes for a value (integers without a fraction, floats by ``repr``).

        Raises:
            SpecError: an integer range given a fractional value.
        """
        if self.kind == "integer":
            number = self._number(value)
            if number != int(number):
                raise SpecError(f"parameter {self.name!r}: {value!r} is not a whole number")
            return str(int(number))
        if self.kind == "continuous":
            return repr(self._number(value))
        return unquote(value) if isinstance(value, str) else format_value(value)

    def parse(self, text: Any) -> Value:
        """A SageMaker string (JSON quotes allowed) as a Python value: ``int``, ``float`` or ``str``.

        Raises:
            SpecError: the text is not a number of the range's kind.
        """
        raw = unquote(text)
        if self.kind == "categorical":
            return raw
        try:
            number = float(raw)
        except ValueError:
            raise SpecError(f"parameter {self.name!r}: {raw!r} is not a number") from None
        if self.kind == "continuous":
            return number
        if not math.isfinite(number) or number != int(number):
            raise SpecError(f"parameter {self.name!r}: {raw!r} is not a whole number")
        return int(number)

    # ----------------------------------------------------------------- optuna
    @property
    def optuna_name(self) -> str:
        """The optuna parameter name (``1-<name>`` for reverse-log ranges, which hold ``1 - x``)."""
        return REVERSE_PREFIX + self.name if self.reverse else self.name

    def to_optuna(self) -> BaseDistribution:
        """The optuna distribution values are drawn from (under ``optuna_name``)."""
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        if self.kind == "categorical":
            return CategoricalDistribution(list(self.values))
        if self.kind == "integer":
            return IntDistribution(int(self.low), int(self.high), log=self.log)
        if self.reverse:
            return FloatDistribution(1.0 - self.high, 1.0 - self.low, log=True)
        return FloatDistribution(self.low, self.high, log=self.log)

    def from_optuna(self, x: Any) -> Value:
        """optuna's value (under ``optuna_name``) -> the hyperparameter's value (reverse-log undone, clipped)."""
        if self.kind == "categorical":
            return str(x)
        if self.kind == "integer":
            return int(min(max(int(x), self.low), self.high))
        value = 1.0 - float(x) if self.reverse else float(x)
        return min(max(value, self.low), self.high)

    def to_optuna_value(self, value: Any) -> Value:
        """The inverse of ``from_optuna``: a hyperparameter value (string or Python) as optuna holds it.

        Raises:
            SpecError: the value is not a number of the range's kind.
        """
        parsed = self.parse(value) if isinstance(value, str) else value
        if self.kind == "categorical":
            return format_value(parsed)
        if self.reverse:
            return 1.0 - float(parsed)
        return parsed if self.kind == "integer" else float(parsed)

    def _number(self, value: Any) -> float:
        if self.kind == "categorical":
            raise SpecError(f"parameter {self.name!r} is categorical: it has no numeric scale")
        number = self.parse(value) if isinstance(value, str) else value
        return float(number)


def ranges_from_spec(spec: TuningJobSpec | SearchSpace) -> list[ParameterRange]:
    """The ranges of a spec's search space, in the spec's order."""
    from .specs.search_space import SearchSpace

    space = spec if isinstance(spec, SearchSpace) else spec.search_space
    return [ParameterRange.from_spec(name, param) for name, param in space.items()]


def ranges_from_request(request: TuningJobRequest) -> list[ParameterRange]:
    """The ranges of a compiled request, in its order (integer, continuous, then categorical)."""
    shape = request.HyperParameterTuningJobConfig.ParameterRanges.model_dump()
    return _from_shape(shape)


def ranges_from_description(description: Mapping[str, Any]) -> list[ParameterRange]:
    """The ranges of a DescribeHyperParameterTuningJob answer (or a request as a dict); quotes removed."""
    config = description.get("HyperParameterTuningJobConfig") or {}
    return _from_shape(config.get("ParameterRanges") or {})


def _from_shape(shape: Mapping[str, Any]) -> list[ParameterRange]:
    return [ParameterRange.from_api(kind, r) for kind in KINDS for r in shape.get(RANGE_KEYS[kind]) or ()]
