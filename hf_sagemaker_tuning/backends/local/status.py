"""A local job's state in SageMaker's shapes (DescribeHyperParameterTuningJob, TrainingJobSummary)."""

from __future__ import annotations

import os
from typing import Any

from .jobs import JobFolder, parse_time

ARN = "arn:aws:sagemaker:local:000000000000"


def coordinator_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover
        return True
    try:  # a zombie (exited, not yet reaped) is not alive
        with open(f"/proc/{int(pid)}/stat", encoding="utf-8") as handle:
            return handle.read().split(") ", 1)[1][:1] != "Z"
    except OSError:
        return True


def summary(folder: JobFolder, record: dict[str, Any], metric: str) -> dict[str, Any]:
    """One trial as a ``TrainingJobSummary``."""
    out: dict[str, Any] = {
        "TrainingJobName": record["TrainingJobName"],
        "TrainingJobArn": f"{ARN}:training-job/{record['TrainingJobName']}",
        "TuningJobName": folder.name,
        "CreationTime": parse_time(record.get("CreationTime")),
        "TrainingStartTime": parse_time(record.get("TrainingStartTime")),
        "TrainingEndTime": parse_time(record.get("TrainingEndTime")),
        "TrainingJobStatus": record["TrainingJobStatus"],
        "TunedHyperParameters": dict(record["TunedHyperParameters"]),
        "ObjectiveStatus": record.get("ObjectiveStatus", "Pending"),
    }
    if record.get("FailureReason"):
        out["FailureReason"] = record["FailureReason"]
    if record.get("FinalObjectiveValue") is not None:
        out["FinalHyperParameterTuningJobObjectiveMetric"] = {
            "MetricName": metric,
            "Value": record["FinalObjectiveValue"],
        }
    return {k: v for k, v in out.items() if v is not None}


def list_trials(folder: JobFolder) -> list[dict[str, Any]]:
    metric = folder.request().objective_metric
    return [summary(folder, r, metric) for r in folder.trial_records() if not r.get("Superseded")]


def describe(folder: JobFolder) -> dict[str, Any]:
    """The job as ``DescribeHyperParameterTuningJob`` answers."""
    request = folder.request()
    state = folder.state()
    status = state.get("HyperParameterTuningJobStatus", "InProgress")
    resumable = False
    if status in ("InProgress", "Stopping") and not coordinator_alive(state.get("CoordinatorPid")):
        status, resumable = "Stopped", True  # the coordinator died: the job can be resumed
    if status == "Stopped" and (state.get("CompletionReason") or "").startswith("stopped by"):
        resumable = True
    records = [r for r in folder.trial_records() if not r.get("Superseded")]
    counters = {"Completed": 0, "InProgress": 0, "RetryableError": 0, "NonRetryableError": 0, "Stopped": 0}
    objectives = {"Succeeded": 0, "Pending": 0, "Failed": 0}
    for r in records:
        s = r["TrainingJobStatus"]
        key = "NonRetryableError" if s == "Failed" else "InProgress" if s == "Stopping" else s
        counters[key] = counters.get(key, 0) + 1
        objectives[r.get("ObjectiveStatus", "Pending")] += 1
    answer: dict[str, Any] = {
        "HyperParameterTuningJobName": folder.name,
        "HyperParameterTuningJobArn": f"{ARN}:hyper-parameter-tuning-job/{folder.name}",
        "HyperParameterTuningJobConfig": request.HyperParameterTuningJobConfig.model_dump(exclude_none=True),
        "TrainingJobDefinition": request.TrainingJobDefinition.model_dump(exclude_none=True),
        "HyperParameterTuningJobStatus": status,
        "CreationTime": parse_time(state.get("CreationTime")),
        "HyperParameterTuningEndTime": parse_time(state.get("HyperParameterTuningEndTime")),
        "LastModifiedTime": parse_time(state.get("LastModifiedTime")),
        "TrainingJobStatusCounters": counters,
        "ObjectiveStatusCounters": objectives,
        "ConsumedResources": {"RuntimeInSeconds": int(state.get("ConsumedRuntimeSeconds", 0))},
    }
    done = [r for r in records if r["TrainingJobStatus"] == "Completed" and r.get("FinalObjectiveValue") is not None]
    if done:
        sign = 1.0 if request.maximize else -1.0
        best = max(done, key=lambda r: sign * r["FinalObjectiveValue"])
        answer["BestTrainingJob"] = summary(folder, best, request.objective_metric)
    if state.get("FailureReason"):
        answer["FailureReason"] = state["FailureReason"]
    if state.get("CompletionReason"):
        answer["TuningJobCompletionReason"] = state["CompletionReason"]
    answer["LocalJobDir"] = str(folder.path)
    answer["Resumable"] = resumable
    return {k: v for k, v in answer.items() if v is not None}
