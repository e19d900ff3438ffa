"""Narrow a search space around the best trials of a finished job, warm-starting from it."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..errors import TuningError
from ..specs import TuningJobSpec, parse_job_spec
from ..specs.search_space import CategoricalParameter, ContinuousParameter, IntegerParameter, categorical_text

MARGIN = 0.1  # widen the top trials' span by 10% on each side (in the parameter's own scale)


def _scale(kind: str) -> tuple[Callable[[float], float], Callable[[float], float]]:
    if kind == "logarithmic":
        return math.log, math.exp
    if kind == "reverse_logarithmic":
        return (lambda x: math.log(1.0 - x)), (lambda y: 1.0 - math.exp(y))
    return (lambda x: x), (lambda y: y)


def _narrow_range(lo: float, hi: float, values: list[float], scaling: str) -> tuple[float, float]:
    fwd, inv = _scale(scaling)
    points = sorted(fwd(v) for v in values)
    bounds = sorted((fwd(lo), fwd(hi)))
    span = points[-1] - points[0]
    margin = MARGIN * span if span > 0 else 0.05 * (bounds[1] - bounds[0])
    a = max(points[0] - margin, bounds[0])
    b = min(points[-1] + margin, bounds[1])
    new = sorted((inv(a), inv(b)))
    return max(new[0], lo), min(new[1], hi)


def top_trials(
    trials: list[dict[str, Any]], maximize: bool, fraction: float = 0.2, minimum: int = 3
) -> list[dict[str, Any]]:
    """The best completed trials (at least ``minimum``, else ``fraction`` of them)."""
    done = [
        t
        for t in trials
        if t.get("TrainingJobStatus") == "Completed"
        and t.get("FinalHyperParameterTuningJobObjectiveMetric", {}).get("Value") is not None
    ]
    done.sort(key=lambda t: t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"], reverse=maximize)
    return done[: max(minimum, math.ceil(fraction * len(done)))]


def narrow_spec(
    spec: TuningJobSpec,
    trials: list[dict[str, Any]],
    *,
    parent_job: str,
    fraction: float = 0.2,
    minimum: int = 3,
    name: str | None = None,
) -> TuningJobSpec:
    """A new spec whose ranges span the top trials (plus a margin) and which warm-starts from ``parent_job``.

    Continuous and integer ranges shrink to the top trials' values (in their own scale:
    log-scaled ranges shrink in log space); categorical parameters keep only the values the
    top trials used. The warm start is ``transfer_learning`` (ranges changed).

    Raises:
        TuningError: fewer than two completed trials to narrow around.
    """
    best = top_trials(trials, spec.direction == "maximize", fraction, minimum)
    if len(best) < 2:
        raise TuningError(f"narrowing needs at least two completed trials; {parent_job!r} has {len(best)}")
    data = spec.model_dump(mode="json", exclude_unset=True)
    space: dict[str, Any] = {}
    for pname, param in spec.search_space.items():
        seen = [t["TunedHyperParameters"][pname] for t in best if pname in t["TunedHyperParameters"]]
        if isinstance(param, CategoricalParameter):
            kept = [v for v in param.values if categorical_text(v) in set(seen)] or list(param.values)
            space[pname] = {"kind": "categorical", "values": kept}
        elif isinstance(param, IntegerParameter):
            lo, hi = _narrow_range(param.min, param.max, [float(v) for v in seen], param.scaling)
            ilo, ihi = math.floor(lo), math.ceil(hi)
            if ilo >= ihi:
                ilo, ihi = (ilo, ilo + 1) if ilo + 1 <= param.max else (ihi - 1, ihi)
            space[pname] = {
                "kind": "integer",
                "min": max(ilo, param.min),
                "max": min(ihi, param.max),
                "scaling": param.scaling,
            }
        elif isinstance(param, ContinuousParameter):
            lo, hi = _narrow_range(param.min, param.max, [float(v) for v in seen], param.scaling)
            if lo >= hi:
                lo, hi = param.min, param.max
            space[pname] = {"kind": "continuous", "min": lo, "max": hi, "scaling": param.scaling}
    data["search_space"] = space
    tuning = dict(data.get("tuning", {}))
    tuning["warm_start"] = {"type": "transfer_learning", "parents": [parent_job]}
    if tuning.get("strategy") == "grid":
        combos = math.prod(len(p["values"]) for p in space.values())
        tuning["max_jobs"] = min(tuning.get("max_jobs") or combos, combos)
        tuning["max_parallel_jobs"] = min(tuning.get("max_parallel_jobs", 1), combos)
    data["tuning"] = tuning
    data["name"] = name or f"{spec.name[:25].rstrip('-')}-narrow"
    return parse_job_spec(data)
