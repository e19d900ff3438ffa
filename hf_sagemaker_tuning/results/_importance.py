"""Parameter importance: optuna's fANOVA (or mean decrease in impurity) over the finished trials.

The finished trials are loaded into an in-memory optuna study (``create_trial`` with the
distributions of the job's ranges, built by the local backend's ``search`` module), and
``optuna.importance.get_param_importances`` ranks the parameters (values sum to 1).
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

from ..errors import BackendError, TuningError
from ._source import JobLike, TunedParameter, load
from ._table import require

if TYPE_CHECKING:  # pragma: no cover
    from ..backends.base import Backend
    from ..compile.request import TuningJobRequest

EVALUATORS = ("fanova", "mdi")


def parameter_importance(
    job: JobLike,
    backend: str | Backend | None = None,
    *,
    evaluator: str = "fanova",
    seed: int = 0,
    jobs_root: str | os.PathLike[str] | None = None,
    region: str | None = None,
    boto_session: Any | None = None,
) -> dict[str, float]:
    """How much each tuned parameter explains the objective, most important first (sums to 1).

    Args:
        job: local job folder or name, SageMaker tuning job name, or a loaded ``JobResults``.
        backend: ``"local"``, ``"sagemaker"``, a ``Backend`` instance, or ``None`` (auto).
        evaluator: ``"fanova"`` (``FanovaImportanceEvaluator``) or ``"mdi"``
            (``MeanDecreaseImpurityImportanceEvaluator``).
        seed: the evaluator's random seed (same trials and seed -> same answer).

    Raises:
        BackendError: fewer than two finished trials, or the job tunes nothing.
        TuningError: an unknown evaluator, or optuna / scikit-learn are not installed.
    """
    if evaluator not in EVALUATORS:
        raise TuningError(f"unknown importance evaluator {evaluator!r}; choose one of {', '.join(EVALUATORS)}")
    results = load(job, backend, jobs_root=jobs_root, region=region, boto_session=boto_session)
    if not results.parameters:
        raise BackendError(f"tuning job {results.name!r} tunes no hyperparameter")
    optuna = require("optuna")
    from ..backends.local.search import REVERSE_PREFIX, distributions, from_hyperparameters

    request = _ranges_request(results.parameters)
    dists = distributions(request)
    trials = []
    for t in results.trials:
        metric = t.get("FinalHyperParameterTuningJobObjectiveMetric") or {}
        value = metric.get("Value")
        if t.get("TrainingJobStatus") != "Completed" or value is None or not math.isfinite(float(value)):
            continue
        params = from_hyperparameters(request, t["TunedHyperParameters"])
        trials.append(optuna.trial.create_trial(params=params, distributions=dists, value=float(value)))
    if len(trials) < 2:
        raise BackendError(
            f"parameter importance needs at least 2 finished trials; job {results.name!r} has {len(trials)}"
        )
    if len(results.parameters) == 1:
        return {results.parameters[0].name: 1.0}
    with _quiet(optuna):
        study = optuna.create_study(direction="maximize" if results.maximize else "minimize")
        study.add_trials(trials)
        if evaluator == "fanova":
            chosen = optuna.importance.FanovaImportanceEvaluator(seed=seed)
        else:
            chosen = optuna.importance.MeanDecreaseImpurityImportanceEvaluator(seed=seed)
        importances = optuna.importance.get_param_importances(study, evaluator=chosen)
    out = {name.removeprefix(REVERSE_PREFIX): float(value) for name, value in importances.items()}
    return dict(sorted(out.items(), key=lambda item: -item[1]))


def _ranges_request(parameters: list[TunedParameter]) -> TuningJobRequest:
    """A request that carries only parameter ranges (what ``search.distributions`` reads)."""
    from ..compile.request import (
        CategoricalParameterRange,
        ContinuousParameterRange,
        IntegerParameterRange,
        ParameterRangesShape,
        TuningJobConfig,
        TuningJobRequest,
    )

    ranges = ParameterRangesShape(
        IntegerParameterRanges=[
            IntegerParameterRange(
                Name=p.name, MinValue=str(int(p.low)), MaxValue=str(int(p.high)), ScalingType=cast(Any, p.scaling)
            )
            for p in parameters
            if p.kind == "integer"
        ],
        ContinuousParameterRanges=[
            ContinuousParameterRange(
                Name=p.name, MinValue=repr(p.low), MaxValue=repr(p.high), ScalingType=cast(Any, p.scaling)
            )
            for p in parameters
            if p.kind == "continuous"
        ],
        CategoricalParameterRanges=[
            CategoricalParameterRange(Name=p.name, Values=list(p.values)) for p in parameters if p.kind == "categorical"
        ],
    )
    # Only the ranges are read, so the rest of the request is left out (model_construct: no validation).
    config_fields: dict[str, Any] = {"ParameterRanges": ranges}
    config = TuningJobConfig.model_construct(**config_fields)
    request_fields: dict[str, Any] = {"HyperParameterTuningJobConfig": config}
    return TuningJobRequest.model_construct(**request_fields)


@contextlib.contextmanager
def _quiet(optuna: Any) -> Iterator[None]:
    """optuna logs each new study at INFO; keep analytics quiet and restore the caller's level."""
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(level)
