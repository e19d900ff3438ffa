"""Training jobs after tuning (e.g. a retrain) and the model a local job serves.

``start_training`` runs one training job like a trial, in ``<job>/retrain/<name>/`` (the
same SageMaker-shaped layout, with a ``trial.json`` record), to the end. ``best_model``
is the newest completed retrain run, else the best trial.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ...compile.naming import unique_job_name
from ...compile.request import TuningJobRequest
from ...errors import BackendError
from ...specs.cross_validation import CV_PREFIX, averaged_run, base_metric
from ...trials import best_trial
from ..base import ModelArtifact, merge_channels
from .jobs import TRIAL_FILE, JobFolder, now
from .runner import MetricCallback, Outcome, TrialRun, apply_outcome
from .search import parameters
from .slots import detect_gpus, plan_slots, processes_of
from .state import LocalOptions, TrialRecord, write_model
from .status import ARN, list_trials
from .trial import Launch


def kept_text(run_dir: Path) -> str | None:
    """Which checkpoint a run kept, in words, from the ``saved`` section of its ``output/data/metrics.json``.

    E.g. ``"best by eval_macro_f1 (step 40 of 120)"`` or ``"last evaluation (step 120)"``;
    ``None`` when the run wrote no such section.
    """
    try:
        report = json.loads((run_dir / "output" / "data" / "metrics.json").read_text(encoding="utf-8"))
        saved = report["saved"]
        step = int(saved["step"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    evaluations = report.get("evaluations") or []
    last = evaluations[-1].get("step") if evaluations and isinstance(evaluations[-1], dict) else None
    if saved.get("strategy") == "best":
        total = f" of {int(last)}" if last is not None else ""
        return f"best by {saved.get('metric_for_best_model')} (step {step}{total})"
    return f"last evaluation (step {step})"


def _record_file(folder: JobFolder, name: str) -> Path:
    return folder.run_dir(name) / TRIAL_FILE


def start_training(
    folder: JobFolder,
    hyperparameters: dict[str, str],
    name: str | None,
    options: LocalOptions,
    on_metric: MetricCallback | None = None,
    channels: dict[str, str] | None = None,
) -> str:
    """Run one training job with exactly ``hyperparameters`` to the end; return its name.

    ``channels`` (name -> local folder or ``file://`` URI; an empty one removes the channel)
    are added to the job's own, or replace them (``Backend.start_training``).

    Raises:
        BackendError: a run with this name exists, or the run could not start (it is then
            recorded as Failed).
    """
    request = folder.request()
    if channels is not None:
        body = request.to_api()
        definition = body["TrainingJobDefinition"]
        definition["InputDataConfig"] = merge_channels(definition["InputDataConfig"], channels)
        request = TuningJobRequest.from_api(body)
    if request.objective_metric.startswith(CV_PREFIX) and not averaged_run(hyperparameters):
        # One model (a refit, an evaluation): it prints its own value of the metric, not a mean over runs.
        body = request.to_api()
        objective = body["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
        objective["MetricName"] = base_metric(objective["MetricName"])
        request = TuningJobRequest.from_api(body)
    # A time stamp alone repeats when two runs start within its resolution: add a random part.
    # ``unique_job_name`` keeps 19 characters of its base; the job's first 11 leave room for "-retrain".
    name = name or unique_job_name(f"{folder.name[:11].rstrip('-')}-retrain")
    run_dir = folder.run_dir(name)
    if run_dir.exists():
        raise BackendError(f"a training job named {name!r} already exists in {run_dir}")
    gpus = options.gpus if options.gpus is not None else detect_gpus()
    # placed like one trial of the job: its GPUs (or processes on CPU), the whole machine's cores
    device, threads = plan_slots(
        gpus, 1, gpus_per_trial=options.gpus_per_trial, processes_per_trial=options.processes_per_trial
    )[0]
    processes = processes_of(device, options)
    launch = Launch(name, run_dir, dict(hyperparameters), cuda_devices=device, threads=threads, processes=processes)
    tuned_names = {p.name for p in parameters(request)}
    moment = now()
    record = TrialRecord(
        TrainingJobName=name,
        Index=len(folder.retrain_records()) + 1,
        TunedHyperParameters={k: v for k, v in hyperparameters.items() if k in tuned_names},
        HyperParameters=dict(hyperparameters),
        CreationTime=moment,
        TrainingStartTime=moment,
        Device=launch.cuda_devices or "cpu",
        Threads=threads,
        Processes=processes,
    )
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    try:
        run_dir.mkdir()  # atomic: a run started meanwhile under the same name keeps its folder
    except FileExistsError:
        raise BackendError(f"a training job named {name!r} already exists in {run_dir}") from None
    write_model(_record_file(folder, name), record)
    try:
        run = TrialRun.start(
            request, launch, python=options.python, grace_seconds=options.grace_seconds, on_metric=on_metric
        )
    except BackendError as exc:
        _write_end(folder, record, Outcome("Failed", str(exc)), {})
        raise
    record.Pid, record.PidStarted = run.pid, run.pid_started
    write_model(_record_file(folder, name), record)
    try:
        outcome = run.run_to_end(options.poll_seconds)
    except BaseException:
        _write_end(folder, record, run.finish("Stopped", stop_reason="Interrupted"), run.series)
        raise
    _write_end(folder, record, outcome, run.series)
    return name


def _write_end(folder: JobFolder, record: TrialRecord, outcome: Outcome, series: dict[str, list[float]]) -> None:
    apply_outcome(record, outcome, now())
    record.Metrics = series
    write_model(_record_file(folder, record.TrainingJobName), record)


def training_record(folder: JobFolder, training: str) -> tuple[TrialRecord, Path]:
    """A retrain run's (or a trial's) record and folder."""
    for record in folder.retrain_records():
        if record.TrainingJobName == training:
            return record, folder.run_dir(training)
    for record in folder.trial_records():
        if record.TrainingJobName == training:
            return record, folder.trial_dir(training)
    raise BackendError(f"job {folder.name!r} has no training job {training!r}")


def describe_training(folder: JobFolder, training: str) -> dict[str, Any]:
    """A training job as ``DescribeTrainingJob`` answers (the model is a local folder), plus ``Kept``."""
    record, run_dir = training_record(folder, training)
    answer: dict[str, Any] = {
        "TrainingJobName": record.TrainingJobName,
        "TrainingJobArn": f"{ARN}:training-job/{record.TrainingJobName}",
        "TuningJobArn": f"{ARN}:hyper-parameter-tuning-job/{folder.name}",
        "TrainingJobStatus": record.TrainingJobStatus,
        "HyperParameters": dict(record.HyperParameters),
        "CreationTime": record.CreationTime,
        "TrainingStartTime": record.TrainingStartTime,
        "TrainingEndTime": record.TrainingEndTime,
        "FinalMetricDataList": [
            {"MetricName": metric, "Value": values[-1]}
            for metric, values in record.Metrics.items()
            if values and math.isfinite(values[-1])
        ],
        "ModelArtifacts": {"S3ModelArtifacts": str((run_dir / "model").resolve())},
    }
    if record.FailureReason:
        answer["FailureReason"] = record.FailureReason
    kept = kept_text(run_dir)
    if kept:
        answer["Kept"] = kept
    return {k: v for k, v in answer.items() if v is not None}


def _has_model(run_dir: Path) -> bool:
    return (run_dir / "model" / "config.json").is_file()


#: What a cross-validated trial leaves in its model folder instead of a model (training/hfst_train/crossval.py).
CV_NOTE = "hfst_cross_validation.json"


def best_model(folder: JobFolder) -> ModelArtifact:
    """The newest completed retrain run with a model, else the best trial's model.

    Raises:
        BackendError: no completed trial has a model.
    """
    retrained = [
        r
        for r in folder.retrain_records()
        if r.TrainingJobStatus == "Completed" and _has_model(folder.run_dir(r.TrainingJobName))
    ]
    if retrained:
        newest = max(retrained, key=lambda r: (r.TrainingEndTime or r.CreationTime or now(), r.Index))
        run_dir = folder.run_dir(newest.TrainingJobName)
        return ModelArtifact(
            training_job_name=newest.TrainingJobName,
            location=str((run_dir / "model").resolve()),
            source="retrain",
            objective=newest.FinalObjectiveValue,
            kept=kept_text(run_dir),
        )
    request = folder.request()
    best = best_trial(list_trials(folder), request.maximize)
    if best is None:
        raise BackendError(f"tuning job {folder.name!r} has no completed trial with an objective value yet")
    run_dir = folder.trial_dir(best.name)
    if not _has_model(run_dir):
        if (run_dir / "model" / CV_NOTE).is_file():
            raise BackendError(
                f"the best trial {best.name!r} was cross-validated and keeps no servable model: refit it first "
                f"(hfst retrain {folder.name} --refit, or job.retrain(refit=True))"
            )
        raise BackendError(f"the best trial {best.name!r} left no model in {run_dir / 'model'}")
    return ModelArtifact(
        training_job_name=best.name,
        location=str((run_dir / "model").resolve()),
        source="trial",
        objective=best.objective,
        kept=kept_text(run_dir),
    )


def trial_artifact(folder: JobFolder, training: str) -> ModelArtifact:
    """The model one completed trial or retrain run of the job left.

    Raises:
        BackendError: no such run, it did not complete, or it left no model.
    """
    record, run_dir = training_record(folder, training)
    if record.TrainingJobStatus != "Completed":
        raise BackendError(f"training job {training!r} is {record.TrainingJobStatus}, not Completed: it has no model")
    if not _has_model(run_dir):
        raise BackendError(f"training job {training!r} left no model in {run_dir / 'model'}")
    retrained = any(r.TrainingJobName == training for r in folder.retrain_records())
    return ModelArtifact(
        training_job_name=training,
        location=str((run_dir / "model").resolve()),
        source="retrain" if retrained else "trial",
        objective=record.FinalObjectiveValue,
        kept=kept_text(run_dir),
    )
