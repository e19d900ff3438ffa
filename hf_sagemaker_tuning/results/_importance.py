"""Parameter importance: optuna's fANOVA (or mean decrease in impurity) over the finished trials.

The finished trials are loaded into an in-memory optuna study (``create_trial`` with the
distributions of the job's ranges, ``ParameterRange.to_optuna``), and
``optuna.importance.get_param_importances`` ranks the parameters (values sum to 1).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..errors import BackendError, TuningError
from ..trials import objective_value, ranked_trials
from ._source import JobLike, load
from ._table import require

if TYPE_CHECKING:  # pragma: no cover
    from ..backends.base import Backend

EVALUATORS = ("fanova", "mdi")


def parameter_importance(
    job: JobLike,
    backend: str | Backend | None = None,
    *,
    evaluator: str = "fanova",
    seed: int = 0,
    jobs_dir: str | os.PathLike[str] | None = None,
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
        BackendError: fewer than two finished trials, all finished trials have the same objective
            value, or the job tunes nothing.
        TuningError: an unknown evaluator, or optuna / scikit-learn are not installed.
    """
    if evaluator not in EVALUATORS:
        raise TuningError(f"unknown importance evaluator {evaluator!r}; choose one of {', '.join(EVALUATORS)}")
    results = load(job, backend, jobs_dir=jobs_dir, region=region, boto_session=boto_session)
    if not results.parameters:
        raise BackendError(f"tuning job {results.name!r} tunes no hyperparameter")
    optuna = require("optuna")
    ranges = results.parameters
    dists = {p.optuna_name: p.to_optuna() for p in ranges}
    trials = []
    finished = {id(t) for t in ranked_trials(results.trials, results.maximize)}
    for t in (t for t in results.trials if id(t) in finished):  # launch order, as optuna would have seen them
        tuned = t.hyperparameters
        params = {p.optuna_name: p.to_optuna_value(tuned[p.name]) for p in ranges}
        value = objective_value(t)
        trials.append(optuna.trial.create_trial(params=params, distributions=dists, value=value))
    if len(trials) < 2:
        raise BackendError(
            f"parameter importance needs at least 2 finished trials; job {results.name!r} has {len(trials)}"
        )
    values = {t.value for t in trials}
    if len(values) == 1:  # nothing to explain: fANOVA raises, MDI would divide zero by zero
        raise BackendError(
            f"all {len(trials)} finished trials have the same objective value ({values.pop():g}); "
            f"parameter importance cannot be computed for job {results.name!r}"
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
        try:
            importances = optuna.importance.get_param_importances(study, evaluator=chosen)
        except RuntimeError as exc:  # fANOVA's "zero total variance in all trees" on degenerate forests
            raise BackendError(f"parameter importance cannot be computed for job {results.name!r}: {exc}") from exc
    names = {p.optuna_name: p.name for p in ranges}
    out = {names[name]: float(value) for name, value in importances.items()}
    return dict(sorted(out.items(), key=lambda item: -item[1]))


@contextlib.contextmanager
def _quiet(optuna: Any) -> Iterator[None]:
    """optuna logs each new study at INFO; keep analytics quiet and restore the caller's level."""
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(level)
