"""AMT's search strategies on optuna: samplers, pruners and scaling, from the compiled request.

* ``Bayesian`` -> ``TPESampler(multivariate=True, constant_liar=True)``. AMT's Bayesian
  strategy is a Gaussian-process method; TPE is optuna's default model-based sampler and
  handles what AMT handles (mixed integer/continuous/categorical spaces, log scales) at a
  cost that stays tiny next to a trial, with ``constant_liar`` keeping parallel trials
  from piling onto the same point. The first ``n_startup_trials`` are random, as in AMT.
* ``Random`` -> ``RandomSampler(seed)``.
* ``Grid`` -> every combination of the categorical values, enqueued once each, in order.
* ``Hyperband`` -> ``HyperbandPruner(min_resource, max_resource)`` over the per-epoch
  objective, with TPE suggesting the configurations.
* Early stopping ``Auto`` -> ``MedianPruner``: a trial is stopped when its objective at
  an epoch is worse than the median of earlier trials at the same epoch.

Scaling: ``Logarithmic`` samples log-uniformly; ``ReverseLogarithmic`` samples
``1 - x`` log-uniformly (dense near 1); ``Linear`` and ``Auto`` sample uniformly
(``Auto`` is documented as linear here; AMT may pick log for wide positive ranges).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...compile.request import TuningJobRequest

if TYPE_CHECKING:  # pragma: no cover
    import optuna

#: Prefix of optuna parameter names that hold ``1 - x`` for reverse-log parameters.
REVERSE_PREFIX = "1-"


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # "integer" | "continuous" | "categorical"
    low: float = 0.0
    high: float = 0.0
    scaling: str = "Linear"
    values: tuple[str, ...] = ()


def parameters(request: TuningJobRequest) -> list[Param]:
    ranges = request.HyperParameterTuningJobConfig.ParameterRanges
    out = [
        Param(r.Name, "integer", int(r.MinValue), int(r.MaxValue), r.ScalingType) for r in ranges.IntegerParameterRanges
    ]
    out += [
        Param(r.Name, "continuous", float(r.MinValue), float(r.MaxValue), r.ScalingType)
        for r in ranges.ContinuousParameterRanges
    ]
    out += [Param(r.Name, "categorical", values=tuple(r.Values)) for r in ranges.CategoricalParameterRanges]
    return out


def distributions(request: TuningJobRequest) -> dict[str, Any]:
    """optuna distributions for the request's ranges (reverse-log ones as ``1-<name>``)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out: dict[str, Any] = {}
    for p in parameters(request):
        if p.kind == "integer":
            out[p.name] = IntDistribution(int(p.low), int(p.high), log=p.scaling == "Logarithmic")
        elif p.kind == "continuous" and p.scaling == "ReverseLogarithmic":
            out[REVERSE_PREFIX + p.name] = FloatDistribution(1.0 - p.high, 1.0 - p.low, log=True)
        elif p.kind == "continuous":
            out[p.name] = FloatDistribution(p.low, p.high, log=p.scaling == "Logarithmic")
        else:
            out[p.name] = CategoricalDistribution(list(p.values))
    return out


def format_value(value: Any) -> str:
    """A hyperparameter value as SageMaker passes it: a string (floats by ``repr``)."""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def to_hyperparameters(request: TuningJobRequest, params: dict[str, Any]) -> dict[str, str]:
    """optuna's params -> the tuned hyperparameters as strings (reverse-log undone, clipped to the range)."""
    out: dict[str, str] = {}
    for p in parameters(request):
        if p.kind == "continuous" and p.scaling == "ReverseLogarithmic":
            value: Any = min(max(1.0 - float(params[REVERSE_PREFIX + p.name]), p.low), p.high)
        else:
            value = params[p.name]
        out[p.name] = format_value(value)
    return out


def from_hyperparameters(request: TuningJobRequest, tuned: dict[str, str]) -> dict[str, Any]:
    """The inverse of ``to_hyperparameters`` (used to re-run a trial with the same values)."""
    out: dict[str, Any] = {}
    for p in parameters(request):
        text = tuned[p.name]
        if p.kind == "integer":
            out[p.name] = int(text)
        elif p.kind == "continuous" and p.scaling == "ReverseLogarithmic":
            out[REVERSE_PREFIX + p.name] = 1.0 - float(text)
        elif p.kind == "continuous":
            out[p.name] = float(text)
        else:
            out[p.name] = text
    return out


def grid(request: TuningJobRequest) -> list[dict[str, str]]:
    """Every combination of the categorical values, in a stable order."""
    params = [p for p in parameters(request) if p.kind == "categorical"]
    return [
        dict(zip([p.name for p in params], combo, strict=True))
        for combo in itertools.product(*(p.values for p in params))
    ]


def max_trials(request: TuningJobRequest) -> int:
    """How many trials the job runs at most (Grid: the combinations, capped by MaxNumberOfTrainingJobs)."""
    config = request.HyperParameterTuningJobConfig
    limit = config.ResourceLimits.MaxNumberOfTrainingJobs
    if config.Strategy == "Grid":
        size = len(grid(request))
        return size if limit is None else min(size, limit)
    if limit is None:  # pragma: no cover - specs require it for the other strategies
        raise ValueError("MaxNumberOfTrainingJobs is required except for Grid")
    return limit


def sampler(request: TuningJobRequest) -> optuna.samplers.BaseSampler:
    import optuna

    config = request.HyperParameterTuningJobConfig
    seed = config.RandomSeed
    if config.Strategy in ("Random", "Grid"):
        return optuna.samplers.RandomSampler(seed=seed)
    startup = max(5, min(10, math.ceil(max_trials(request) / 5)))
    return optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True, n_startup_trials=startup)


def pruner(request: TuningJobRequest) -> optuna.pruners.BasePruner:
    import optuna

    config = request.HyperParameterTuningJobConfig
    if config.Strategy == "Hyperband" and config.StrategyConfig is not None:
        hb = config.StrategyConfig.HyperbandStrategyConfig
        return optuna.pruners.HyperbandPruner(min_resource=hb.MinResource, max_resource=hb.MaxResource)
    if config.TrainingJobEarlyStoppingType == "Auto":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0, n_min_trials=3)
    return optuna.pruners.NopPruner()


def hyperband_max_resource(request: TuningJobRequest) -> int | None:
    config = request.HyperParameterTuningJobConfig
    if config.Strategy == "Hyperband" and config.StrategyConfig is not None:
        return config.StrategyConfig.HyperbandStrategyConfig.MaxResource
    return None
