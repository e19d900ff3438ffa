"""The results table (AMT's ``HyperparameterTuningJobAnalytics.dataframe()`` columns), the best trial, a summary."""

from __future__ import annotations

import math
import os
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .. import trials
from ..errors import BackendError, TuningError
from ._source import JobLike, JobResults, load

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..backends.base import Backend
    from ..evaluate import Evaluation

#: The columns after the tuned hyperparameters, in order (as AMT's analytics names them).
TRIAL_COLUMNS = (
    "TrainingJobName",
    "TrainingJobStatus",
    "FinalObjectiveValue",
    "TrainingStartTime",
    "TrainingEndTime",
    "TrainingElapsedTimeSeconds",
    "FailureReason",
)
#: pandas dtype of each tuned parameter kind.
KIND_DTYPES = {"integer": "int64", "continuous": "float64", "categorical": "string"}
TIME_DTYPE = "datetime64[ns, UTC]"


def require(module: str) -> Any:
    """Import an optional analytics dependency, or say how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise TuningError(
            f"results analytics need {module.split('.')[0]} (pip install 'hf-sagemaker-tuning[local]'): {exc}"
        ) from exc


def build_table(results: JobResults) -> pd.DataFrame:
    """One row per trial, best first (by the objective's direction), trials without an objective last."""
    pd = require("pandas")
    trials = results.trials
    columns: dict[str, Any] = {}
    for p in results.parameters:
        raw = [(t.get("TunedHyperParameters") or {}).get(p.name) for t in trials]
        if p.kind == "integer":
            ints = [None if v is None else int(float(v)) for v in raw]
            columns[p.name] = pd.Series(ints, dtype="int64" if None not in ints else "Int64")
        elif p.kind == "continuous":
            columns[p.name] = pd.Series([math.nan if v is None else float(v) for v in raw], dtype="float64")
        else:
            columns[p.name] = pd.Series(raw, dtype="string")
    clash = set(columns) & set(TRIAL_COLUMNS)
    if clash:
        raise BackendError(f"tuned hyperparameter names clash with result columns: {sorted(clash)}")
    objective = [(t.get("FinalHyperParameterTuningJobObjectiveMetric") or {}).get("Value") for t in trials]
    start = _times([t.get("TrainingStartTime") for t in trials])
    end = _times([t.get("TrainingEndTime") for t in trials])
    columns["TrainingJobName"] = pd.Series([t.get("TrainingJobName") for t in trials], dtype="string")
    columns["TrainingJobStatus"] = pd.Series([t.get("TrainingJobStatus") for t in trials], dtype="string")
    columns["FinalObjectiveValue"] = pd.Series(
        [math.nan if v is None else float(v) for v in objective], dtype="float64"
    )
    columns["TrainingStartTime"] = start
    columns["TrainingEndTime"] = end
    columns["TrainingElapsedTimeSeconds"] = (end - start).dt.total_seconds().astype("float64")
    columns["FailureReason"] = pd.Series([t.get("FailureReason") for t in trials], dtype="string")
    table = pd.DataFrame(columns)
    table = table.sort_values("FinalObjectiveValue", ascending=not results.maximize, na_position="last", kind="stable")
    return table.reset_index(drop=True)


def _times(values: list[Any]) -> Any:
    pd = require("pandas")
    stamps = [pd.NaT if v is None else pd.Timestamp(v) for v in values]
    stamps = [s if s is pd.NaT or s.tzinfo is not None else s.tz_localize("UTC") for s in stamps]
    return pd.Series([s if s is pd.NaT else s.tz_convert("UTC") for s in stamps], dtype=TIME_DTYPE)


def results_table(
    job: JobLike,
    backend: str | Backend | None = None,
    *,
    jobs_dir: str | os.PathLike[str] | None = None,
    region: str | None = None,
    boto_session: Any | None = None,
) -> pd.DataFrame:
    """The tuning job's trials as a ``pandas.DataFrame``, the same for every backend.

    Columns: each tuned hyperparameter (Integer -> ``int64``, Continuous -> ``float64``,
    Categorical -> ``string``, JSON quotes removed), then ``TrainingJobName``,
    ``TrainingJobStatus``, ``FinalObjectiveValue`` (``float64``, NaN without one),
    ``TrainingStartTime``, ``TrainingEndTime`` (UTC), ``TrainingElapsedTimeSeconds`` and
    ``FailureReason``. Rows: best objective first (by the job's direction), NaN last.

    Args:
        job: local job folder or name, SageMaker tuning job name, or a loaded ``JobResults``.
        backend: ``"local"``, ``"sagemaker"``, a ``Backend`` instance, or ``None`` (auto).
        jobs_dir: where local jobs live (default ``./jobs``).
        region: AWS region (SageMaker).
        boto_session: a ``boto3.Session`` (SageMaker).
    """
    return load(job, backend, jobs_dir=jobs_dir, region=region, boto_session=boto_session).table()


def best_trial(
    job: JobLike,
    backend: str | Backend | None = None,
    *,
    jobs_dir: str | os.PathLike[str] | None = None,
    region: str | None = None,
    boto_session: Any | None = None,
) -> dict[str, Any]:
    """The best trial's row of ``results_table`` as a dict (plain Python values).

    The best trial is the completed trial with the best objective value (``trials.best_trial``;
    ties go to the earlier trial).

    Raises:
        BackendError: no trial has an objective value yet.
    """
    results = load(job, backend, jobs_dir=jobs_dir, region=region, boto_session=boto_session)
    name = best_trial_name(results)
    if name is None:
        raise BackendError(f"tuning job {results.name!r} has no trial with an objective value yet")
    table = results.table()
    row = table[table["TrainingJobName"] == name].iloc[0]
    return {column: plain_value(value) for column, value in row.items()}


def best_trial_name(results: JobResults) -> str | None:
    """The best trial's ``TrainingJobName`` (``trials.best_trial``: completed, with an objective), or ``None``."""
    best = trials.best_trial(results.trials, results.maximize)
    return None if best is None else str(best["TrainingJobName"])


def plain_value(value: Any) -> Any:
    """A table cell as a plain Python value (``None`` for missing, ``datetime`` for timestamps)."""
    pd = require("pandas")
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def best_hyperparameters(results: JobResults) -> dict[str, Any]:
    """The tuned hyperparameters of the best trial (empty when no trial has an objective)."""
    try:
        best = best_trial(results)
    except BackendError:
        return {}
    return {p.name: best[p.name] for p in results.parameters}


def format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def summary(
    job: JobLike,
    backend: str | Backend | None = None,
    *,
    jobs_dir: str | os.PathLike[str] | None = None,
    region: str | None = None,
    boto_session: Any | None = None,
) -> str:
    """A short text: status, trial counts, the best value and its hyperparameters, elapsed time."""
    results = load(job, backend, jobs_dir=jobs_dir, region=region, boto_session=boto_session)
    table = results.table()
    counts = table["TrainingJobStatus"].value_counts()
    states = ", ".join(f"{state} {int(n)}" for state, n in counts.items())
    lines = [
        f"Tuning job {results.name} ({results.backend}): {results.status}",
        f"Trials: {len(table)}" + (f" ({states})" if states else ""),
        f"Objective: {results.objective_metric} ({results.direction})",
    ]
    name = best_trial_name(results)
    if name is None:
        lines.append("Best: no trial has an objective value yet")
    else:
        best = table[table["TrainingJobName"] == name].iloc[0]
        lines.append(f"Best: {format_value(float(best['FinalObjectiveValue']))} ({best['TrainingJobName']})")
        hps = ", ".join(f"{k}={format_value(v)}" for k, v in best_hyperparameters(results).items())
        lines.append(f"Best hyperparameters: {hps}")
    elapsed = _elapsed(results.description)
    if elapsed is not None:
        lines.append(f"Elapsed: {elapsed:.1f} s")
    lines.extend(evaluation_lines(results, jobs_dir))
    return "\n".join(lines)


def newest_evaluations(results: JobResults, jobs_dir: str | os.PathLike[str] | None = None) -> list[Evaluation]:
    """The newest saved evaluation of each split (``hfst evaluate``), test first."""
    from ..evaluate import saved_evaluations

    newest: dict[str, Evaluation] = {}
    for evaluation in saved_evaluations(results.description, jobs_dir if jobs_dir is not None else "jobs"):
        newest[evaluation.split] = evaluation  # oldest first: the last one wins
    return sorted(newest.values(), key=lambda e: (e.split != "test", e.split))


def evaluation_lines(results: JobResults, jobs_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """The saved test score (and any other split's), validation side by side; empty when none was saved."""
    return [line for evaluation in newest_evaluations(results, jobs_dir) for line in evaluation.summary().splitlines()]


def _elapsed(description: dict[str, Any]) -> float | None:
    start = description.get("CreationTime")
    end = description.get("HyperParameterTuningEndTime")
    if not isinstance(start, datetime):
        return None
    if not isinstance(end, datetime):
        if description.get("HyperParameterTuningJobStatus") != "InProgress":
            return None
        end = datetime.now(timezone.utc)
    if (start.tzinfo is None) != (end.tzinfo is None):
        return None
    return (end - start).total_seconds()
