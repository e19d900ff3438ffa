"""A local job's state in SageMaker's shapes (DescribeHyperParameterTuningJob, TrainingJobSummary).

Readers trust nothing a crash (or a hand) may have left behind: trial folders are compared with the
trials ``job.json`` says were launched (a missing one is a ``BackendError``, never a silently different
best trial; a copied or foreign one is not counted, see ``jobs.trial_folders``), each finished trial's
``trial.json`` is checked against its log (the authority) and ``study.db`` (see ``agreement.py``: a
disagreement is a ``BackendError`` naming the trial, the files and both values), and the trials
of a job whose coordinator is gone are shown as they really are (still running as orphans,
finished with the status they left, or interrupted).
"""

from __future__ import annotations

from typing import Any

from ... import _process
from ...trials import Trial, best_trial
from .agreement import check_agreement
from .jobs import JobFolder
from .recovery import check_trials, seen_now
from .state import JobState, Resumability, TrialRecord

ARN = "arn:aws:sagemaker:local:000000000000"


def coordinator_alive(pid: int | None, started: int | None = None) -> bool:
    """Whether the recorded coordinator still runs (a pid reused by another process does not count)."""
    return _process.is_alive(pid, started)


def summary(folder: JobFolder, record: TrialRecord, metric: str) -> dict[str, Any]:
    """One trial as a ``TrainingJobSummary``."""
    out: dict[str, Any] = {
        "TrainingJobName": record.TrainingJobName,
        "TrainingJobArn": f"{ARN}:training-job/{record.TrainingJobName}",
        "TuningJobName": folder.name,
        "CreationTime": record.CreationTime,
        "TrainingStartTime": record.TrainingStartTime,
        "TrainingEndTime": record.TrainingEndTime,
        "TrainingJobStatus": record.TrainingJobStatus,
        "TunedHyperParameters": dict(record.TunedHyperParameters),
        "ObjectiveStatus": record.ObjectiveStatus,
    }
    if record.FailureReason:
        out["FailureReason"] = record.FailureReason
    if record.FinalObjectiveValue is not None:
        out["FinalHyperParameterTuningJobObjectiveMetric"] = {"MetricName": metric, "Value": record.FinalObjectiveValue}
    return {k: v for k, v in out.items() if v is not None}


def current_records(folder: JobFolder, state: JobState | None = None) -> list[TrialRecord]:
    """The job's trials (not superseded) as they are now, after checking them against ``job.json``.

    Raises:
        BackendError: a ``trial.json`` is invalid, or a launched trial's folder is missing.
    """
    state = folder.state() if state is None else state
    records = [r for r in folder.trial_records() if not r.Superseded]
    check_trials(folder, state)
    request = folder.request()
    check_agreement(folder, request, records)
    status, _ = effective(state)
    if status in ("InProgress", "Stopping"):
        return records
    return [seen_now(folder, request, r) for r in records]


def trial(folder: JobFolder, record: TrialRecord, metric: str) -> Trial:
    """One trial, typed: its summary plus its final metrics and (completed, with one) its model folder."""
    model = folder.trial_dir(record.TrainingJobName) / "model"
    finals = {name: values[-1] for name, values in record.Metrics.items() if values}
    artifact = str(model.resolve()) if record.TrainingJobStatus == "Completed" and model.is_dir() else None
    return Trial.from_summary(
        summary(folder, record, metric), metrics=finals, artifact=artifact, stop_reason=record.StopReason
    )


def list_trials(folder: JobFolder, records: list[TrialRecord] | None = None) -> list[Trial]:
    """The job's trials (``current_records``), typed."""
    metric = folder.request().objective_metric
    return [trial(folder, r, metric) for r in (current_records(folder) if records is None else records)]


def effective(state: JobState) -> tuple[str, Resumability]:
    """The job's status and resumability as a reader sees them.

    A job recorded as running whose coordinator is gone was interrupted: it reads Stopped and
    can be resumed.
    """
    status = state.HyperParameterTuningJobStatus
    if status in ("InProgress", "Stopping") and not coordinator_alive(state.CoordinatorPid, state.CoordinatorStarted):
        return "Stopped", Resumability.INTERRUPTED
    return status, state.Resumability


def describe_status(folder: JobFolder, state: JobState) -> tuple[str, Resumability]:
    """``effective``, and Stopping from the moment a stop is requested (the coordinator acts on it next)."""
    status, resumability = effective(state)
    if status == "InProgress" and folder.stop_file.exists():
        status = "Stopping"
    return status, resumability


def describe(folder: JobFolder) -> dict[str, Any]:
    """The job as ``DescribeHyperParameterTuningJob`` answers (plus ``LocalJobDir`` and ``Resumable``)."""
    request = folder.request()
    state = folder.state()
    status, resumability = describe_status(folder, state)
    records = current_records(folder, state)
    counters = {"Completed": 0, "InProgress": 0, "RetryableError": 0, "NonRetryableError": 0, "Stopped": 0}
    objectives = {"Succeeded": 0, "Pending": 0, "Failed": 0}
    for r in records:
        s = r.TrainingJobStatus
        key = "NonRetryableError" if s == "Failed" else "InProgress" if s == "Stopping" else s
        counters[key] += 1
        objectives[r.ObjectiveStatus] += 1
    answer: dict[str, Any] = {
        "HyperParameterTuningJobName": folder.name,
        "HyperParameterTuningJobArn": f"{ARN}:hyper-parameter-tuning-job/{folder.name}",
        "HyperParameterTuningJobConfig": request.HyperParameterTuningJobConfig.model_dump(exclude_none=True),
        "TrainingJobDefinition": request.TrainingJobDefinition.model_dump(exclude_none=True),
        "HyperParameterTuningJobStatus": status,
        "CreationTime": state.CreationTime,
        "HyperParameterTuningEndTime": state.HyperParameterTuningEndTime,
        "LastModifiedTime": state.LastModifiedTime,
        "TrainingJobStatusCounters": counters,
        "ObjectiveStatusCounters": objectives,
        "ConsumedResources": {"RuntimeInSeconds": int(state.ConsumedRuntimeSeconds)},
    }
    best = best_trial(list_trials(folder, records), request.maximize)
    if best is not None:
        answer["BestTrainingJob"] = best.to_summary()
    if state.FailureReason:
        answer["FailureReason"] = state.FailureReason
    if state.CompletionReason:
        answer["TuningJobCompletionReason"] = state.CompletionReason
    answer["LocalJobDir"] = str(folder.path)
    answer["Resumable"] = resumability is not Resumability.NOT_RESUMABLE
    answer["Resumability"] = resumability.value
    return {k: v for k, v in answer.items() if v is not None}
