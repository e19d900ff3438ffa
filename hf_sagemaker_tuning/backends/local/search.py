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

import hashlib
import itertools
import math
from typing import TYPE_CHECKING, Any

from ...compile.request import TuningJobRequest
from ...ranges import REVERSE_PREFIX, ParameterRange, format_value, ranges_from_request

if TYPE_CHECKING:  # pragma: no cover
    import optuna

__all__ = [
    "REVERSE_PREFIX",
    "Param",
    "distributions",
    "format_value",
    "from_hyperparameters",
    "grid",
    "hyperband_max_resource",
    "max_trials",
    "parameters",
    "proposal_seed",
    "pruner",
    "sampler",
    "to_hyperparameters",
]

#: The range model (kept under its old name for callers of this module).
Param = ParameterRange


def parameters(request: TuningJobRequest) -> list[ParameterRange]:
    """The request's ranges (integer, continuous, then categorical, as the request lists them)."""
    return ranges_from_request(request)


def distributions(request: TuningJobRequest) -> dict[str, Any]:
    """optuna distributions for the request's ranges (reverse-log ones as ``1-<name>``)."""
    return {p.optuna_name: p.to_optuna() for p in parameters(request)}


def to_hyperparameters(request: TuningJobRequest, params: dict[str, Any]) -> dict[str, str]:
    """optuna's params -> the tuned hyperparameters as strings (reverse-log undone, clipped to the range)."""
    return {p.name: p.format(p.from_optuna(params[p.optuna_name])) for p in parameters(request)}


def from_hyperparameters(request: TuningJobRequest, tuned: dict[str, str]) -> dict[str, Any]:
    """The inverse of ``to_hyperparameters`` (used to re-run a trial with the same values).

    Raises:
        KeyError: a tuned parameter is missing from ``tuned``.
        ValueError: a value is not a number of its range's kind (``SpecError``).
    """
    return {p.optuna_name: p.to_optuna_value(tuned[p.name]) for p in parameters(request)}


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


def proposal_seed(seed: int | None, index: int, attempt: int = 0) -> int | None:
    """The sampler's seed for the proposal of the job's ``index``-th trial (``attempt``: rejected ones before it).

    A seeded sampler's random state lives in its process: restarted with its seed, it replays
    its sequence from the start, so a resumed job would propose its first configurations
    again, and one resumed after a kill would propose other configurations than an
    uninterrupted run. Each proposal's seed is derived from the job's seed and the trial's
    place in the job instead: a resumed seeded search proposes what an uninterrupted one
    would (one trial at a time: the sampler sees the same finished trials), and never replays.
    """
    if seed is None:
        return None
    digest = hashlib.sha256(f"{seed}:{index}:{attempt}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def sampler(request: TuningJobRequest, seed: int | None = None) -> optuna.samplers.BaseSampler:
    """The request's sampler, seeded with ``seed`` (default: the request's ``RandomSeed``)."""
    import warnings

    import optuna

    config = request.HyperParameterTuningJobConfig
    seed = config.RandomSeed if seed is None else seed
    if config.Strategy in ("Random", "Grid"):
        return optuna.samplers.RandomSampler(seed=seed)
    startup = max(5, min(10, math.ceil(max_trials(request) / 5)))
    with warnings.catch_warnings():
        # constant_liar/multivariate TPE are marked experimental by optuna; we rely on them on purpose.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
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
