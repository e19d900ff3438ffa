"""Where results come from: a local job folder or a SageMaker tuning job, read into one shape.

``load`` answers a ``JobResults``: the job's description (as DescribeHyperParameterTuningJob
answers), its trials (``Trial`` objects, launch order, SDK v2's JSON quotes around
categorical values removed) and its tuned parameters (kind and scaling from the ranges).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from ..errors import BackendError, TuningError
from ..ranges import ParameterRange, ranges_from_description, unquote
from ..trials import Trial
from ._frame import build_table, summary_text

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..backends.base import Backend
    from ..evaluate import Evaluation

#: A tuned hyperparameter's range (the library's one range model; the old name is kept).
TunedParameter = ParameterRange


@dataclass
class JobResults:
    """A tuning job's results, read once; every analytics, plot and report function accepts one."""

    name: str
    backend: str
    description: dict[str, Any]
    trials: list[Trial]
    parameters: list[TunedParameter]
    curves_reader: Callable[[str], dict[str, list[float]]] | None = None
    evaluations_reader: Callable[[], list[Evaluation]] | None = None
    _table: Any = field(default=None, repr=False)

    @property
    def status(self) -> str:
        return str(self.description.get("HyperParameterTuningJobStatus", "Unknown"))

    @property
    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = self.description.get("HyperParameterTuningJobConfig") or {}
        return config

    @property
    def objective_metric(self) -> str:
        return str((self.config.get("HyperParameterTuningJobObjective") or {}).get("MetricName", "objective"))

    @property
    def maximize(self) -> bool:
        return bool((self.config.get("HyperParameterTuningJobObjective") or {}).get("Type", "Maximize") == "Maximize")

    @property
    def direction(self) -> str:
        return "Maximize" if self.maximize else "Minimize"

    def table(self) -> pd.DataFrame:
        """The results table (built once; see ``results_table``)."""
        if self._table is None:
            self._table = build_table(self)
        return self._table.copy()

    def _repr_html_(self) -> str:
        """The summary and the results table, for notebooks."""
        import html

        text = "<br>".join(html.escape(line) for line in summary_text(self).splitlines())
        return f"<div><p>{text}</p>{self.table().to_html(index=False, na_rep='', float_format=_six)}</div>"

    def curves(self, trial: str) -> dict[str, list[float]]:
        """Every metric value one trial emitted, in order (``Backend.metric_history``)."""
        if self.curves_reader is None:
            raise BackendError(f"job {self.name!r} was loaded without a backend: it has no learning curves")
        return self.curves_reader(trial)

    def evaluations(self) -> list[Evaluation]:
        """Every evaluation kept with the job (``hfst evaluate``), oldest first; empty without a backend."""
        return [] if self.evaluations_reader is None else self.evaluations_reader()


JobLike = Union[str, "os.PathLike[str]", JobResults]


def parameters_from(description: dict[str, Any]) -> list[TunedParameter]:
    """The tuned parameters of a DescribeHyperParameterTuningJob answer (integer, continuous, categorical)."""
    return ranges_from_description(description)


def _clean_trial(trial: Trial) -> Trial:
    return trial.model_copy(update={"hyperparameters": {k: unquote(v) for k, v in trial.hyperparameters.items()}})


def load(
    job: JobLike,
    backend: str | Backend | None = None,
    *,
    jobs_dir: str | os.PathLike[str] | None = None,
    region: str | None = None,
    boto_session: Any | None = None,
) -> JobResults:
    """Read a tuning job's results.

    Args:
        job: a local job folder, a local job name (under ``jobs_dir``), a SageMaker tuning job
            name, or an already loaded ``JobResults`` (returned as is).
        backend: ``"local"``, ``"sagemaker"``, a ``Backend`` instance, or ``None``: local when
            ``job`` is a local job folder (or a job under ``jobs_dir``), else SageMaker.
        jobs_dir: where local jobs live (default ``./jobs``).
        region: AWS region for SageMaker.
        boto_session: a ``boto3.Session`` for SageMaker.

    Raises:
        BackendError: no such job, an unknown backend, or AWS could not be reached.
    """
    if isinstance(job, JobResults):
        return job
    from ..backends import resolve_job
    from ..evaluate import saved_evaluations

    root = jobs_dir if jobs_dir is not None else "jobs"
    runner, job_id = resolve_job(job, backend, jobs_dir=root, region=region, boto_session=boto_session)
    try:
        description = runner.describe(job_id)
    except TuningError as exc:
        if backend is not None or runner.cloud is None:
            raise
        raise BackendError(f"no local tuning job {str(job)!r} in {root}, and on SageMaker: {exc}") from exc
    return JobResults(
        name=str(description.get("HyperParameterTuningJobName", Path(job_id).name)),
        backend=runner.name or type(runner).__name__,
        description=description,
        trials=[_clean_trial(t) for t in runner.list_trials(job_id)],
        parameters=parameters_from(description),
        curves_reader=lambda trial: runner.metric_history(job_id, trial),
        evaluations_reader=lambda: saved_evaluations(runner, job_id),
    )


def _six(value: float) -> str:
    return f"{value:.6g}"
