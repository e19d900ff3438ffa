"""Narrow a search space around the best trials of a finished job, warm-starting from it."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from ..errors import TuningError
from ..ranges import ParameterRange
from ..specs import TuningJobSpec, parse_job_spec
from ..specs.search_space import CategoricalParameter, ContinuousParameter, IntegerParameter, categorical_text
from ..trials import Trial, ranked_trials

MARGIN = 0.1  # widen the top trials' span by 10% on each side (in the parameter's own scale)


def _narrow_range(r: ParameterRange, values: list[float]) -> tuple[float, float]:
    """The span of ``values`` plus the margin, in the range's own scale, kept inside the range."""
    points = sorted(r.transform(v) for v in values)
    bounds = sorted((r.transform(r.low), r.transform(r.high)))
    span = points[-1] - points[0]
    margin = MARGIN * span if span > 0 else 0.05 * (bounds[1] - bounds[0])
    a = max(points[0] - margin, bounds[0])
    b = min(points[-1] + margin, bounds[1])
    new = sorted((r.inverse(a), r.inverse(b)))
    return max(new[0], r.low), min(new[1], r.high)


def _tried(trials: Iterable[Trial], r: ParameterRange) -> list[Any]:
    """The values of ``r`` the trials ran with, parsed, that lie inside ``r`` (others are ignored)."""
    raw = [t.hyperparameters.get(r.name) for t in trials]
    return [r.parse(v) for v in raw if v is not None and r.contains(v)]


def top_trials(trials: list[Trial], maximize: bool, fraction: float = 0.2, minimum: int = 3) -> list[Trial]:
    """The best completed trials (at least ``minimum``, else ``fraction`` of them), best first."""
    done = ranked_trials(trials, maximize)
    return done[: max(minimum, math.ceil(fraction * len(done)))]


def narrow_spec(
    spec: TuningJobSpec,
    trials: list[Trial],
    *,
    parent_job: str,
    fraction: float = 0.2,
    minimum: int = 3,
    name: str | None = None,
) -> TuningJobSpec:
    """A new spec whose ranges span the top trials (plus a margin) and which warm-starts from ``parent_job``.

    Continuous and integer ranges shrink to the top trials' values (in their own scale:
    log-scaled ranges shrink in log space); categorical parameters drop the values that were
    tried but that no top trial used, and keep every value that no trial tried. A parameter
    that no top trial ran with keeps its range. The warm start is ``transfer_learning``
    (ranges changed).

    Raises:
        TuningError: fewer than two completed trials to narrow around.
    """
    best = top_trials(trials, spec.direction == "maximize", fraction, minimum)
    if len(best) < 2:
        raise TuningError(f"narrowing needs at least two completed trials; {parent_job!r} has {len(best)}")
    data = spec.model_dump(mode="json", exclude_unset=True)
    space: dict[str, Any] = {}
    for pname, param in spec.search_space.items():
        r = ParameterRange.from_spec(pname, param)
        seen = _tried(best, r)
        if not seen:  # no top trial ran with a value inside this range: keep it as it is
            space[pname] = param.model_dump(mode="json")
        elif isinstance(param, CategoricalParameter):
            top, tried = set(seen), set(_tried(trials, r))
            kept = [v for v in param.values if categorical_text(v) in top or categorical_text(v) not in tried]
            space[pname] = {"kind": "categorical", "values": kept}
        elif isinstance(param, IntegerParameter):
            lo, hi = _narrow_range(r, seen)
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
            lo, hi = _narrow_range(r, seen)
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
