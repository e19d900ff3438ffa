"""``track``: copy a job (local or SageMaker) into MLflow from its backend's records, and live hooks.

Where the settings come from, first found wins: the arguments; the job's compiled environment
(``HFST_MLFLOW_TRACKING_URI``, ``HFST_MLFLOW_EXPERIMENT``: a local folder already made absolute
when the job was compiled); the spec kept with the job (``tracking.mlflow``). The experiment
defaults to the spec's name, so a job tracked live and one tracked afterwards land together.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import TrackingError, TuningError

if TYPE_CHECKING:  # pragma: no cover
    from ..backends.base import Backend
    from ._tree import JobTree

__all__ = ["LiveTracker", "TrackResult", "TrackingTarget", "after_run", "target_of", "track"]

log = logging.getLogger("hf_sagemaker_tuning.tracking")
T = TypeVar("T")


@dataclass(frozen=True)
class TrackingTarget:
    """Where a job's runs go: tracking URI, experiment, and the registered model's name (if any)."""

    tracking_uri: str
    experiment: str
    register_as: str | None = None


@dataclass(frozen=True)
class TrackResult:
    """What ``track`` wrote: where, the parent run's id, and the runs of each kind the tree holds."""

    tracking_uri: str
    experiment: str
    parent_run_id: str
    runs: dict[str, int] = field(default_factory=dict)


def target_of(
    backend: Backend,
    job: str,
    *,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    register_as: str | None = None,
) -> TrackingTarget | None:
    """The job's tracking settings (see the module docstring), or ``None`` when it has none."""
    env = (backend.describe(job).get("TrainingJobDefinition") or {}).get("Environment") or {}
    spec = backend.spec(job)
    mlflow = spec.tracking.mlflow if spec is not None and spec.tracking is not None else None
    uri = tracking_uri or env.get("HFST_MLFLOW_TRACKING_URI") or (mlflow.tracking_uri if mlflow else None)
    if not uri:
        return None
    from ..specs.tracking import tracking_uri_kind

    try:
        tracking_uri_kind(uri)
    except ValueError as exc:
        raise TrackingError(f"tracking URI: {exc}") from None
    name = (
        experiment
        or env.get("HFST_MLFLOW_EXPERIMENT")
        or (mlflow.experiment if mlflow else None)
        or (spec.name if spec is not None else backend.job_name(job))
    )
    return TrackingTarget(uri, name, register_as or (mlflow.register_model_as if mlflow else None))


def _tree(backend: Backend, job: str, target: TrackingTarget) -> JobTree:
    from ._store import MlflowStore
    from ._tree import JobTree

    return JobTree(MlflowStore(target.tracking_uri, target.experiment), backend, job)


def track(
    job: str | os.PathLike[str],
    backend: str | Backend | None = None,
    *,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    register_as: str | None = None,
    report: bool = True,
    jobs_dir: str | os.PathLike[str] = "jobs",
    region: str | None = None,
    boto_session: Any | None = None,
) -> TrackResult:
    """Copy a tuning job into MLflow: a parent run, one child per trial, retrains and test scores.

    Idempotent: runs are found by their tags (job and run name), so running it again (or after
    live logging) adds nothing and fills in only what is missing.

    Args:
        job: a local job folder or name, or a SageMaker tuning job name.
        backend: ``"local"``, ``"sagemaker"``, a ``Backend``, or ``None`` (found from ``job``).
        tracking_uri: a local folder, an ``http(s)://`` server or a SageMaker MLflow ARN
            (default: the job's ``tracking:`` section).
        experiment: the MLflow experiment (default: the spec's name).
        register_as: register the job's model under this name (default: the spec's ``register_model_as``).
        report: also upload the HTML report to the parent run.
        jobs_dir: where local jobs live.
        region: AWS region (SageMaker).
        boto_session: a ``boto3.Session`` (SageMaker).

    Raises:
        TrackingError: no tracking URI (the job has no ``tracking:`` section and none was given),
            or MLflow could not be reached or refused a write.
        BackendError: no such job.
    """
    from ..backends import resolve_job

    runner, job_id = resolve_job(job, backend, jobs_dir=jobs_dir, region=region, boto_session=boto_session)
    target = target_of(runner, job_id, tracking_uri=tracking_uri, experiment=experiment, register_as=register_as)
    if target is None:
        raise TrackingError(
            f"job {runner.job_name(job_id)!r} has no tracking: section; give the tracking URI (--tracking-uri)"
        )
    try:
        tree = _tree(runner, job_id, target)
        runs = tree.sync(report=report, register_as=target.register_as)
        parent = tree.parent()
    except TuningError:
        raise
    except Exception as exc:  # MLflow's own errors (unreachable server, refused write)
        raise TrackingError(f"MLflow at {_display(target.tracking_uri)}: {_reason(exc)}") from exc
    return TrackResult(target.tracking_uri, target.experiment, parent, runs)


def _display(uri: str) -> str:
    from ._redact import redact_text

    return redact_text(uri)


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return (text[:300] + "...") if len(text) > 300 else (text or type(exc).__name__)


class LiveTracker:
    """Logs a job as it runs; the first failure is one warning, and tracking stops for this job.

    A tracker failure never fails a trial or the job: ``hfst track`` fills the gap later.

    Args:
        backend: the job's backend.
        job: the job's id.
        target: where the runs go.
        logger: where the one warning goes.
    """

    def __init__(self, backend: Backend, job: str, target: TrackingTarget, logger: logging.Logger = log):
        self.backend, self.job, self.target, self.log = backend, job, target, logger
        self.failed = False
        self._tree: JobTree | None = None

    def _guard(self, action: Callable[[JobTree], T]) -> T | None:
        if self.failed:
            return None
        try:
            if self._tree is None:
                self._tree = _tree(self.backend, self.job, self.target)
            return action(self._tree)
        except Exception as exc:
            self.failed = True
            self.log.warning(
                "MLflow tracking of %s failed and is off for this job (it runs on): %s: %s. "
                "Run `hfst track %s` later to fill the gap",
                self.backend.job_name(self.job),
                _display(self.target.tracking_uri),
                _reason(exc),
                self.backend.job_name(self.job),
            )
            return None

    def trial(self, name: str) -> None:
        """Log one trial as it stands (started, new evaluations, ended)."""

        def log_trial(tree: JobTree) -> None:
            for trial in self.backend.list_trials(self.job):
                if trial.name == name:
                    tree.trial(trial)

        self._guard(log_trial)

    def sync(self, report: bool = True) -> None:
        """Log the whole job (when it ends, or after a retrain or evaluation)."""
        self._guard(lambda tree: tree.sync(report=report, register_as=self.target.register_as))


def after_run(backend: Backend, job: str) -> None:
    """After a retrain or an evaluation: bring a tracked job's tree up to date (one warning on failure)."""
    try:
        target = target_of(backend, job)
    except TuningError as exc:
        log.warning("MLflow tracking of %s skipped: %s", backend.job_name(job), exc)
        return
    if target is not None:
        LiveTracker(backend, job, target).sync()
