"""Retrain: one training job with the best trial's hyperparameters and a longer budget, on the same backend."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import BackendError


def best_hyperparameters(description: dict[str, Any]) -> dict[str, str]:
    """The static hyperparameters of the job plus the best trial's tuned ones (SageMaker's strings)."""
    best = description.get("BestTrainingJob")
    if not best:
        raise BackendError(f"tuning job {description['HyperParameterTuningJobName']!r} has no best trial yet")
    static = dict(description["TrainingJobDefinition"]["StaticHyperParameters"])
    static.update(best["TunedHyperParameters"])
    return static


def retrain_local(
    job_dir: str | Path,
    *,
    epochs: float | None = None,
    on_line: Callable[[str], None] | None = None,
    grace_seconds: float = 10.0,
) -> dict[str, Any]:
    """Run the best configuration of a local job again (e.g. with more epochs) and wait for it.

    The run gets its own SageMaker-shaped folder under ``<job>/retrain/<name>``; returns a
    record with its status, final objective, metric series and model folder.
    """
    from ..backends.local import LocalBackend
    from ..backends.local.metrics import MetricReader
    from ..backends.local.trial import Launch, failure_reason, start, terminate

    backend = LocalBackend(Path(job_dir).parent)
    folder = backend.folder(job_dir)
    request = folder.request()
    hyperparameters = best_hyperparameters(backend.describe(str(folder.path)))
    if epochs is not None:
        hyperparameters["epochs"] = repr(float(epochs)) if not float(epochs).is_integer() else str(int(epochs))
    name = f"{folder.name}-retrain-{time.strftime('%H%M%S')}"
    launch = Launch(name=name, folder=folder.path / "retrain" / name, hyperparameters=hyperparameters)
    launch.folder.mkdir(parents=True, exist_ok=True)
    process = start(request, launch)
    reader = MetricReader.for_request(request, launch.folder / "log.txt")
    limit = request.TrainingJobDefinition.StoppingCondition.MaxRuntimeInSeconds
    started = time.monotonic()
    status, reason = "Completed", None
    try:
        while process.poll() is None:
            for value in reader.poll():
                if on_line:
                    on_line(f"{request.objective_metric} = {value:.6g}")
            if time.monotonic() - started > limit:
                terminate(process, grace_seconds)
                status, reason = "Failed", f"MaxRuntimeExceeded: longer than {limit} s"
            time.sleep(0.2)
    except KeyboardInterrupt:
        terminate(process, grace_seconds)
        raise
    reader.finish()
    if status == "Completed" and process.returncode != 0:
        status, reason = "Failed", failure_reason(launch.folder, process.returncode)
    elif status == "Completed" and not reader.final_is_finite():
        status, reason = "Failed", f"no finite value of {request.objective_metric!r} in the output"
    return {
        "TrainingJobName": name,
        "TrainingJobStatus": status,
        "FailureReason": reason,
        "HyperParameters": hyperparameters,
        "FinalObjectiveValue": reader.final_objective if status == "Completed" else None,
        "Metrics": reader.series,
        "ModelDir": str(launch.folder / "model"),
    }


def retrain_sagemaker(
    tuning_job: str,
    *,
    epochs: float | None = None,
    region: str | None = None,
    boto_session: Any | None = None,
    job_name: str | None = None,
) -> str:
    """Start a SageMaker training job with the best hyperparameters of ``tuning_job``; return its name."""
    from ..backends.sagemaker import SageMakerBackend
    from ..compile.naming import unique_job_name

    backend = SageMakerBackend(region, boto_session=boto_session)
    description = backend.describe(tuning_job)
    hyperparameters = best_hyperparameters(description)
    hyperparameters.pop("_tuning_objective_metric", None)
    if epochs is not None:
        hyperparameters["epochs"] = str(int(epochs)) if float(epochs).is_integer() else repr(float(epochs))
    definition = description["TrainingJobDefinition"]
    name = job_name or unique_job_name(f"{tuning_job[:19]}-rt")
    request: dict[str, Any] = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {
            k: v
            for k, v in definition["AlgorithmSpecification"].items()
            if k in ("TrainingImage", "TrainingInputMode", "MetricDefinitions")
        },
        "RoleArn": definition["RoleArn"],
        "InputDataConfig": definition["InputDataConfig"],
        "OutputDataConfig": definition["OutputDataConfig"],
        "ResourceConfig": definition["ResourceConfig"],
        "StoppingCondition": definition["StoppingCondition"],
        "HyperParameters": hyperparameters,
    }
    for key in ("EnableManagedSpotTraining", "CheckpointConfig", "VpcConfig"):
        if key in definition:
            request[key] = definition[key]
    backend._call("create_training_job", **request)
    return name
