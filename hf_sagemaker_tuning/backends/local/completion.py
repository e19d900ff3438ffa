"""AMT's completion rules as pure functions: the local coordinator asks them after every finished trial.

* ``MaxNumberOfTrainingJobs`` trials launched (Grid: every combination once);
* ``TargetObjectiveMetricValue`` reached by a completed trial;
* ``MaxNumberOfTrainingJobsNotImproving`` completed trials in a row without a new best;
* convergence (``CompleteOnConvergence``): at least 10 completed trials and the best value
  improved by less than 0.1% (relative) over the last ``max(5, max_jobs // 10)`` completed trials;
* ``MaxRuntimeInSeconds`` of the tuning job (time spent running, summed over resumes);
* the failure budget: more than ``max(3, max_jobs // 2)`` failed trials fails the job.

Objective values are given in the order the trials finished. Nothing here reads a file,
a clock or a process.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ...compile.request import TuningJobRequest

CONVERGENCE_MIN_TRIALS = 10
CONVERGENCE_TOLERANCE = 1e-3

TARGET_REACHED = "TargetObjectiveMetricValueReached"
NOT_IMPROVING = "BestObjectiveNotImproving"
CONVERGED = "ConvergenceDetected"
FAILURE_BUDGET = "FailureBudgetExceeded"
RUNTIME = "MaxRuntimeExceeded"
MAX_JOBS = "MaxNumberOfTrainingJobsReached"


def target_reached(values: Sequence[float], target: float, maximize: bool) -> bool:
    """A completed trial reached ``target`` (at or above it when maximizing, at or below otherwise)."""
    return any(v >= target if maximize else v <= target for v in values)


def trials_not_improving(values: Sequence[float], maximize: bool) -> int:
    """Completed trials since the one that set the current best."""
    sign = 1.0 if maximize else -1.0
    best, since = -math.inf, 0
    for value in values:
        if sign * value > best:
            best, since = sign * value, 0
        else:
            since += 1
    return since


def convergence_window(max_trials: int) -> int:
    """How many of the latest completed trials convergence looks back over."""
    return max(5, max_trials // 10)


def converged(values: Sequence[float], maximize: bool, window: int) -> bool:
    """At least ``max(10, window + 1)`` completed trials and the last ``window`` moved the best by < 0.1%."""
    if len(values) < max(CONVERGENCE_MIN_TRIALS, window + 1):
        return False
    sign = 1.0 if maximize else -1.0
    signed = [sign * v for v in values]
    before = max(signed[:-window])
    after = max(signed)
    return after - before <= CONVERGENCE_TOLERANCE * max(abs(before), 1e-12)


def failure_budget(max_trials: int, allowed: int | None = None) -> int:
    """Failed trials the job tolerates: ``allowed`` when set, else ``max(3, max_trials // 2)``."""
    return max(3, max_trials // 2) if allowed is None else allowed


@dataclass(frozen=True)
class Rules:
    """The completion rules of one job, read once from its request."""

    maximize: bool
    max_trials: int
    target: float | None = None
    not_improving: int | None = None
    convergence: bool = False
    failure_budget: int = 3
    max_runtime_seconds: float | None = None

    @classmethod
    def from_request(cls, request: TuningJobRequest, max_trials: int, max_failed_trials: int | None) -> Rules:
        config = request.HyperParameterTuningJobConfig
        criteria = config.TuningJobCompletionCriteria
        target = not_improving = None
        convergence = False
        if criteria is not None:
            target = criteria.TargetObjectiveMetricValue
            if criteria.BestObjectiveNotImproving is not None:
                not_improving = criteria.BestObjectiveNotImproving.MaxNumberOfTrainingJobsNotImproving
            detected = criteria.ConvergenceDetected
            convergence = detected is not None and detected.CompleteOnConvergence == "Enabled"
        return cls(
            maximize=request.maximize,
            max_trials=max_trials,
            target=target,
            not_improving=not_improving,
            convergence=convergence,
            failure_budget=failure_budget(max_trials, max_failed_trials),
            max_runtime_seconds=config.ResourceLimits.MaxRuntimeInSeconds,
        )


def completion_reason(rules: Rules, values: Sequence[float], failed: int, consumed_seconds: float) -> str | None:
    """Why the job should end now, or ``None`` to go on.

    Args:
        rules: the job's rules.
        values: objective values of the completed trials, in the order they finished.
        failed: how many trials failed.
        consumed_seconds: time the job has run, summed over resumes.
    """
    if values:
        if rules.target is not None and target_reached(values, rules.target, rules.maximize):
            return TARGET_REACHED
        if rules.not_improving is not None and trials_not_improving(values, rules.maximize) >= rules.not_improving:
            return NOT_IMPROVING
        if rules.convergence and converged(values, rules.maximize, convergence_window(rules.max_trials)):
            return CONVERGED
    if failed > rules.failure_budget:
        return FAILURE_BUDGET
    if rules.max_runtime_seconds is not None and consumed_seconds > rules.max_runtime_seconds:
        return RUNTIME
    return None


def final_status(reason: str | None, completed: int, failed: int) -> tuple[str, str | None, str]:
    """The job's end: ``(status, failure reason, completion reason)``.

    The failure budget fails the job; so does ending with no completed trial. Running out of
    runtime stops it (as AMT does); anything else completes it.
    """
    if reason == FAILURE_BUDGET:
        return "Failed", f"{failed} trials failed, more than the failure budget allows", reason
    if completed == 0:
        return "Failed", "no trial completed with an objective value", reason or MAX_JOBS
    if reason == RUNTIME:
        return "Stopped", None, reason
    return "Completed", None, reason or MAX_JOBS
