"""The results table (AMT's ``HyperparameterTuningJobAnalytics.dataframe()`` columns), the best trial, a summary.

The public functions here take a job (or a loaded ``JobResults``); the work is done in ``_frame``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ..errors import BackendError
from ._frame import (
    TIME_DTYPE,
    TRIAL_COLUMNS,
    best_hyperparameters,
    best_row,
    best_trial_name,
    build_table,
    evaluation_lines,
    format_value,
    newest_evaluations,
    plain_value,
    require,
    summary_text,
)
from ._source import JobLike, load

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..backends.base import Backend

__all__ = [
    "TIME_DTYPE",
    "TRIAL_COLUMNS",
    "best_hyperparameters",
    "best_trial",
    "best_trial_name",
    "build_table",
    "evaluation_lines",
    "format_value",
    "newest_evaluations",
    "plain_value",
    "require",
    "results_table",
    "summary",
]


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

    The best trial is the completed trial with the best finite objective value
    (``trials.best_trial``; ties go to the earlier trial; failed and stopped trials never count).

    Raises:
        BackendError: no trial has an objective value yet.
    """
    results = load(job, backend, jobs_dir=jobs_dir, region=region, boto_session=boto_session)
    best = best_row(results)
    if best is None:
        raise BackendError(f"tuning job {results.name!r} has no trial with an objective value yet")
    return best


def summary(
    job: JobLike,
    backend: str | Backend | None = None,
    *,
    jobs_dir: str | os.PathLike[str] | None = None,
    region: str | None = None,
    boto_session: Any | None = None,
) -> str:
    """A short text: status, trial counts, the best value and its hyperparameters, elapsed time."""
    return summary_text(load(job, backend, jobs_dir=jobs_dir, region=region, boto_session=boto_session))
