"""Where results come from: a local job folder or a SageMaker tuning job, read into one shape.

``load`` answers a ``JobResults``: the job's description (as DescribeHyperParameterTuningJob
answers), its trials (``TrainingJobSummary`` dicts, launch order, SDK v2's JSON quotes around
categorical values removed) and its tuned parameters (kind and scaling from the ranges).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from ..errors import BackendError, TuningError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..backends.base import Backend

#: Backend names ``load`` accepts (or pass a ``Backend`` instance).
BACKENDS = ("local", "sagemaker")


@dataclass(frozen=True)
class TunedParameter:
    """One tuned hyperparameter, as its range declares it.

    Attributes:
        name: the hyperparameter's name.
        kind: ``"integer"``, ``"continuous"`` or ``"categorical"``.
        low: lower bound (numeric kinds).
        high: upper bound (numeric kinds).
        scaling: ``Auto``, ``Linear``, ``Logarithmic`` or ``ReverseLogarithmic`` (numeric kinds).
        values: the allowed values (categorical).
    """

    name: str
    kind: str
    low: float = 0.0
    high: float = 0.0
    scaling: str = "Linear"
    values: tuple[str, ...] = ()

    @property
    def log(self) -> bool:
        return self.kind != "categorical" and self.scaling == "Logarithmic"


@dataclass
class JobResults:
    """A tuning job's results, read once; every analytics, plot and report function accepts one."""

    name: str
    backend: str
    description: dict[str, Any]
    trials: list[dict[str, Any]]
    parameters: list[TunedParameter]
    curves_reader: Callable[[str], dict[str, list[float]]] | None = None
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
        from ._table import build_table

        if self._table is None:
            self._table = build_table(self)
        return self._table.copy()

    def curves(self, trial: str) -> dict[str, list[float]]:
        """Every metric value one trial emitted, in order (local backend only)."""
        if self.curves_reader is None:
            raise BackendError(
                f"learning curves are not available for {self.backend} job {self.name!r}: "
                "only the local backend keeps per-evaluation metric values"
            )
        return self.curves_reader(trial)


JobLike = Union[str, "os.PathLike[str]", JobResults]


def unquote(text: Any) -> str:
    """A hyperparameter value without the JSON quotes SDK v2 adds (``'"adamw"'`` -> ``'adamw'``)."""
    value = str(text)
    if len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            decoded = json.loads(value)
        except ValueError:
            return value
        if isinstance(decoded, str):
            return decoded
    return value


def parameters_from(description: dict[str, Any]) -> list[TunedParameter]:
    """The tuned parameters of a DescribeHyperParameterTuningJob answer (integer, continuous, categorical)."""
    ranges = (description.get("HyperParameterTuningJobConfig") or {}).get("ParameterRanges") or {}
    out = [
        TunedParameter(
            r["Name"],
            "integer",
            float(unquote(r["MinValue"])),
            float(unquote(r["MaxValue"])),
            r.get("ScalingType", "Auto"),
        )
        for r in ranges.get("IntegerParameterRanges") or []
    ]
    out += [
        TunedParameter(
            r["Name"],
            "continuous",
            float(unquote(r["MinValue"])),
            float(unquote(r["MaxValue"])),
            r.get("ScalingType", "Auto"),
        )
        for r in ranges.get("ContinuousParameterRanges") or []
    ]
    out += [
        TunedParameter(r["Name"], "categorical", values=tuple(unquote(v) for v in r.get("Values") or []))
        for r in ranges.get("CategoricalParameterRanges") or []
    ]
    return out


def _clean_trial(trial: dict[str, Any]) -> dict[str, Any]:
    out = dict(trial)
    out["TunedHyperParameters"] = {k: unquote(v) for k, v in (trial.get("TunedHyperParameters") or {}).items()}
    return out


def load(
    job: JobLike,
    backend: str | Backend | None = None,
    *,
    jobs_root: str | os.PathLike[str] | None = None,
    region: str | None = None,
    boto_session: Any | None = None,
) -> JobResults:
    """Read a tuning job's results.

    Args:
        job: a local job folder, a local job name (under ``jobs_root``), a SageMaker tuning job
            name, or an already loaded ``JobResults`` (returned as is).
        backend: ``"local"``, ``"sagemaker"``, a ``Backend`` instance, or ``None``: local when
            ``job`` is a local job folder (or a job under ``jobs_root``), else SageMaker.
        jobs_root: where local jobs live (default ``./jobs``).
        region: AWS region for SageMaker.
        boto_session: a ``boto3.Session`` for SageMaker.

    Raises:
        BackendError: no such job, an unknown backend, or AWS could not be reached.
    """
    if isinstance(job, JobResults):
        return job
    from ..backends.base import Backend

    if isinstance(backend, Backend):
        return _from_backend(backend, str(job))
    if backend not in (None, *BACKENDS):
        raise BackendError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "local" or (backend is None and _is_local(job, jobs_root)):
        from ..backends.local import LocalBackend

        local = LocalBackend(jobs_root if jobs_root is not None else "jobs")
        path = local.folder(job).path
        return _from_backend(local, str(path))
    if backend is None and (os.sep in str(job) or Path(job).exists()):
        raise BackendError(f"{str(job)!r} is not a local tuning job folder (it has no request.json)")
    from ._aws import fetch_job

    try:
        description, trials = fetch_job(str(job), region=region, boto_session=boto_session)
    except TuningError as exc:
        if backend is not None:
            raise
        root = Path(jobs_root if jobs_root is not None else "jobs")
        raise BackendError(f"no local tuning job {str(job)!r} in {root}, and on SageMaker: {exc}") from exc
    return JobResults(
        name=str(description.get("HyperParameterTuningJobName", job)),
        backend="sagemaker",
        description=description,
        trials=[_clean_trial(t) for t in trials],
        parameters=parameters_from(description),
    )


def _is_local(job: str | os.PathLike[str], jobs_root: str | os.PathLike[str] | None) -> bool:
    if (Path(job) / "request.json").is_file():
        return True
    return (Path(jobs_root if jobs_root is not None else "jobs") / str(job) / "request.json").is_file()


def _from_backend(backend: Backend, job: str) -> JobResults:
    description = backend.describe(job)
    metrics = getattr(backend, "metrics", None)
    reader = None if metrics is None else (lambda trial: metrics(job, trial))
    return JobResults(
        name=str(description.get("HyperParameterTuningJobName", Path(job).name)),
        backend=backend.name or type(backend).__name__,
        description=description,
        trials=[_clean_trial(t) for t in backend.list_trials(job)],
        parameters=parameters_from(description),
        curves_reader=reader,
    )
