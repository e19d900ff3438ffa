"""A tuning job's trials, typed (``Trial``), and the one rule that decides which trial is best.

Every backend answers ``Backend.list_trials`` with ``Trial`` objects (read from SageMaker's
``TrainingJobSummary`` shape, which both backends speak), and every caller that needs "the
best trial" (results, status, ``TuningJob.best_trial``, ``best_model``, retrain, deploy,
narrow) asks ``best_trial`` here, never the service, so they always agree.

The rule (AMT's documented one for ``BestTrainingJob``, the best by the final objective
metric among training jobs that completed):

* only trials with status ``Completed`` and a finite final objective value count; failed
  trials, stopped trials (an early-stopped trial too, even with a last objective value it
  reported) and trials still running are never best;
* the best value wins by the job's direction (``Maximize`` or ``Minimize``);
* ties go to the earlier trial (the order given: ``list_trials`` is oldest first).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Trial", "best_trial", "objective_value", "ranked_trials"]


class Trial(BaseModel):
    """One trial of a tuning job, as a backend reports it (frozen, like Optuna's ``FrozenTrial``).

    Attributes:
        name: the trial's training-job name.
        status: ``InProgress``, ``Completed``, ``Failed``, ``Stopping`` or ``Stopped``.
        hyperparameters: the tuned hyperparameters, name -> value as the service keeps it (a
            string; SDK v2 may JSON-quote categorical values).
        objective: the final objective value the trial reported, when it reported one (as
            reported: it may be non-finite; see ``objective_value``).
        objective_metric: the objective metric's name, when the trial reported a value.
        objective_status: ``Succeeded``, ``Pending`` or ``Failed`` (whether the objective was read).
        metrics: final metric values by name, when the backend knows them (empty otherwise).
        creation_time: when the trial was created (timezone-aware), when known.
        start_time: when its training started, when known.
        end_time: when its training ended, when known.
        failure_reason: why it failed, when it did.
        stop_reason: why it was stopped, when the backend says (e.g. ``EarlyStopped``, ``Interrupted``).
        artifact: where its model is (a local folder or ``s3://.../model.tar.gz``), when known.
        arn: the trial's training-job ARN, when the backend gives one.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    status: str
    hyperparameters: dict[str, str] = Field(default_factory=dict)
    objective: float | None = None
    objective_metric: str | None = None
    objective_status: str | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    creation_time: datetime | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    failure_reason: str | None = None
    stop_reason: str | None = None
    artifact: str | None = None
    arn: str | None = None

    @classmethod
    def from_summary(cls, summary: Mapping[str, Any], **extra: Any) -> Trial:
        """A trial from a ``TrainingJobSummary`` (``ListTrainingJobsForHyperParameterTuningJob``'s shape).

        ``extra`` sets what a summary does not carry (``metrics``, ``artifact``).
        """
        metric = summary.get("FinalHyperParameterTuningJobObjectiveMetric") or {}
        value = metric.get("Value")
        return cls(
            name=str(summary["TrainingJobName"]),
            status=str(summary["TrainingJobStatus"]),
            hyperparameters={k: str(v) for k, v in (summary.get("TunedHyperParameters") or {}).items()},
            objective=None if value is None else float(value),
            objective_metric=metric.get("MetricName"),
            objective_status=summary.get("ObjectiveStatus"),
            creation_time=summary.get("CreationTime"),
            start_time=summary.get("TrainingStartTime"),
            end_time=summary.get("TrainingEndTime"),
            failure_reason=summary.get("FailureReason") or None,
            arn=summary.get("TrainingJobArn"),
            **extra,
        )

    def to_summary(self) -> dict[str, Any]:
        """The trial as a ``TrainingJobSummary`` (e.g. a description's ``BestTrainingJob``); unknown keys left out."""
        out: dict[str, Any] = {
            "TrainingJobName": self.name,
            "TrainingJobArn": self.arn,
            "TrainingJobStatus": self.status,
            "TunedHyperParameters": dict(self.hyperparameters),
            "CreationTime": self.creation_time,
            "TrainingStartTime": self.start_time,
            "TrainingEndTime": self.end_time,
            "ObjectiveStatus": self.objective_status,
            "FailureReason": self.failure_reason,
        }
        if self.objective is not None:
            out["FinalHyperParameterTuningJobObjectiveMetric"] = {
                "MetricName": self.objective_metric or "objective",
                "Value": self.objective,
            }
        return {k: v for k, v in out.items() if v is not None}

    @property
    def eligible(self) -> bool:
        """Whether the trial can be best: it completed with a finite objective value."""
        return self.status == "Completed" and objective_value(self) is not None


def objective_value(trial: Trial) -> float | None:
    """The trial's final objective value, or ``None`` when it has none (or it is not finite)."""
    value = trial.objective
    if value is None or not math.isfinite(value):
        return None
    return value


def ranked_trials(trials: Iterable[Trial], maximize: bool) -> list[Trial]:
    """The trials that can be best (completed, finite objective), best first; ties keep their order."""
    sign = -1.0 if maximize else 1.0
    return sorted((t for t in trials if t.eligible), key=lambda t: sign * (objective_value(t) or 0.0))


def best_trial(trials: Iterable[Trial], maximize: bool) -> Trial | None:
    """The best trial by the rule above, or ``None`` when no trial completed with an objective value."""
    ranked = ranked_trials(trials, maximize)
    return ranked[0] if ranked else None
