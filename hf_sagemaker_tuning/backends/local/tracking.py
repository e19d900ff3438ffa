"""The coordinator's tracking hook: an observer told when a trial starts, reports and ends.

The coordinator calls it unconditionally; without ``tracking.mlflow`` in the job it is the no-op
``TrialObserver`` and MLflow is never imported. With it, ``MlflowObserver`` logs each trial
through ``tracking.LiveTracker`` (the same tree ``hfst track`` writes; a failing tracker is one
warning in coordinator.log and never fails a trial).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from ...compile.request import TuningJobRequest
    from ...tracking import LiveTracker
    from ..base import Backend
    from .jobs import JobFolder

__all__ = ["MlflowObserver", "TrialObserver", "observer_for"]


class TrialObserver:
    """Told what happens to the job's trials; this one does nothing."""

    def started(self, trial: str) -> None:
        """A trial's process started."""

    def progressed(self, trial: str, values: int) -> None:
        """A running trial has reported ``values`` metric values so far."""

    def ended(self, trial: str) -> None:
        """A trial ended (its ``trial.json`` says how)."""

    def job_ended(self) -> None:
        """The job reached a terminal status."""


class MlflowObserver(TrialObserver):
    """Logs each trial to MLflow as it runs, and the whole job when it ends."""

    def __init__(self, tracker: LiveTracker):
        self.tracker = tracker
        self._seen: dict[str, int] = {}

    def started(self, trial: str) -> None:
        self.tracker.trial(trial)

    def progressed(self, trial: str, values: int) -> None:
        if values > self._seen.get(trial, 0):  # only when a new evaluation came in
            self._seen[trial] = values
            self.tracker.trial(trial)

    def ended(self, trial: str) -> None:
        self.tracker.trial(trial)

    def job_ended(self) -> None:
        self.tracker.sync()


def observer_for(
    folder: JobFolder, request: TuningJobRequest, logger: logging.Logger, backend: Backend | None
) -> TrialObserver:
    """The observer for this job: ``MlflowObserver`` when its request asks for MLflow, else a no-op.

    ``backend`` is the job's (``None``: a coordinator built without one, e.g. in a test, tracks nothing).
    """
    if backend is None or not (request.TrainingJobDefinition.Environment or {}).get("HFST_MLFLOW_TRACKING_URI"):
        return TrialObserver()
    from ...tracking import LiveTracker, target_of

    job = folder.path.name
    try:
        target = target_of(backend, job)
    except Exception as exc:  # a bad setting: one warning, the job runs without tracking
        logger.warning("MLflow tracking of %s is off: %s", job, exc)
        return TrialObserver()
    return TrialObserver() if target is None else MlflowObserver(LiveTracker(backend, job, target, logger))
