"""The results table and what is read from a loaded ``JobResults``: best trial, summary text, evaluations.

Everything here works on an already loaded ``JobResults`` (``_source``), so ``JobResults``
can build its own table and summary without an import cycle; ``_table`` adds the public
functions that load a job first.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .. import trials
from ..errors import BackendError, TuningError
from ..selection import is_averaged
from ..specs.cross_validation import std_metric

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..evaluate import Evaluation
    from ._source import JobResults

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
    rows = results.trials
    columns: dict[str, Any] = {}
    for p in results.parameters:
        raw = [t.hyperparameters.get(p.name) for t in rows]
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
    start = _times([t.start_time for t in rows])
    end = _times([t.end_time for t in rows])
    columns["TrainingJobName"] = pd.Series([t.name for t in rows], dtype="string")
    columns["TrainingJobStatus"] = pd.Series([t.status for t in rows], dtype="string")
    columns["FinalObjectiveValue"] = pd.Series(
        [math.nan if t.objective is None else t.objective for t in rows], dtype="float64"
    )
    if is_averaged(results.objective_metric):  # a mean over folds or seeds: its spread beside it
        columns["FinalObjectiveStd"] = pd.Series([objective_std(results, t) for t in rows], dtype="float64")
    columns["TrainingStartTime"] = start
    columns["TrainingEndTime"] = end
    columns["TrainingElapsedTimeSeconds"] = (end - start).dt.total_seconds().astype("float64")
    columns["FailureReason"] = pd.Series([t.failure_reason for t in rows], dtype="string")
    table = pd.DataFrame(columns)
    table = table.sort_values("FinalObjectiveValue", ascending=not results.maximize, na_position="last", kind="stable")
    return table.reset_index(drop=True)


def objective_std(results: JobResults, trial: trials.Trial) -> float:
    """The standard deviation over a trial's runs of its averaged objective (NaN when it printed none)."""
    name = std_metric(results.objective_metric)
    if name in trial.metrics:
        return float(trial.metrics[name])
    if trial.status != "Completed" or results.curves_reader is None:
        return math.nan
    try:  # SageMaker lists trials without their final metrics: read the trial's metric history
        values = results.curves(trial.name).get(name) or []
    except TuningError:
        return math.nan
    return float(values[-1]) if values else math.nan


def _times(values: list[Any]) -> Any:
    pd = require("pandas")
    stamps = [pd.NaT if v is None else pd.Timestamp(v) for v in values]
    stamps = [s if s is pd.NaT or s.tzinfo is not None else s.tz_localize("UTC") for s in stamps]
    return pd.Series([s if s is pd.NaT else s.tz_convert("UTC") for s in stamps], dtype=TIME_DTYPE)


def best_trial_name(results: JobResults) -> str | None:
    """The best trial's name (``trials.best_trial``: completed, with an objective), or ``None``."""
    best = trials.best_trial(results.trials, results.maximize)
    return None if best is None else best.name


def best_row(results: JobResults) -> dict[str, Any] | None:
    """The best trial's row of the results table as plain Python values, or ``None`` without one."""
    name = best_trial_name(results)
    if name is None:
        return None
    table = results.table()
    row = table[table["TrainingJobName"] == name].iloc[0]
    return {column: plain_value(value) for column, value in row.items()}


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
    best = best_row(results)
    return {} if best is None else {p.name: best[p.name] for p in results.parameters}


def format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def summary_text(results: JobResults) -> str:
    """A short text: status, trial counts, the best value and its hyperparameters, elapsed time, saved scores."""
    table = results.table()
    counts = table["TrainingJobStatus"].value_counts()
    states = ", ".join(f"{state} {int(n)}" for state, n in counts.items())
    lines = [
        f"Tuning job {results.name} ({results.backend}): {results.status}",
        f"Trials: {len(table)}" + (f" ({states})" if states else ""),
        f"Objective: {results.objective_metric} ({results.direction})",
    ]
    best = best_row(results)
    if best is None:
        lines.append("Best: no trial has an objective value yet")
    else:
        spread = best.get("FinalObjectiveStd")
        shown = format_value(float(best["FinalObjectiveValue"]))
        if spread is not None and math.isfinite(float(spread)):
            shown += f" ± {format_value(float(spread))} (mean ± std over its runs)"
        lines.append(f"Best: {shown} ({best['TrainingJobName']})")
        hps = ", ".join(f"{k}={format_value(v)}" for k, v in best_hyperparameters(results).items())
        lines.append(f"Best hyperparameters: {hps}")
    elapsed = _elapsed(results.description)
    if elapsed is not None:
        lines.append(f"Elapsed: {elapsed:.1f} s")
    lines.extend(evaluation_lines(results))
    return "\n".join(lines)


def newest_evaluations(results: JobResults) -> list[Evaluation]:
    """The newest saved evaluation of each split (``hfst evaluate``), test first."""
    newest: dict[str, Evaluation] = {}
    for evaluation in results.evaluations():
        newest[evaluation.split] = evaluation  # oldest first: the last one wins
    return sorted(newest.values(), key=lambda e: (e.split != "test", e.split))


def evaluation_lines(results: JobResults) -> list[str]:
    """The saved test score (and any other split's), validation side by side; empty when none was saved."""
    return [line for evaluation in newest_evaluations(results) for line in evaluation.summary().splitlines()]


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
