"""``evaluate``: score a job's model once on a prepared split, through the job's backend."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..errors import BackendError
from ._result import Evaluation, read_log
from ._store import save_evaluation, saved_evaluation

if TYPE_CHECKING:  # pragma: no cover
    from ..backends.base import Backend

#: The evaluation-only entry point of the bundled training package.
EVALUATION_PROGRAM = "evaluate.py"
#: Static hyperparameters of the job that the evaluation keeps (the rest cannot matter and is refused).
KEPT_HYPERPARAMETERS = ("per_device_eval_batch_size", "precision", "pad_to_multiple_of")
SPLITS = ("train", "validation", "test")


def evaluate(
    job: str | os.PathLike[str],
    backend: str | Backend | None = None,
    split: str = "test",
    model: str | os.PathLike[str] | None = None,
    force: bool = False,
    *,
    jobs_dir: str | os.PathLike[str] = "jobs",
    region: str | None = None,
    boto_session: Any | None = None,
    timeout: float | None = None,
    poll_seconds: float = 15.0,
) -> Evaluation:
    """Score the job's best model (or ``model``) once on a prepared split, with the task's official metric.

    The model is ``Backend.best_model`` (the newest retrain, else the best trial) unless
    ``model`` names one (a local model folder, or an ``s3://.../model.tar.gz`` on SageMaker).
    The evaluation runs the bundled package's evaluation-only mode (``evaluate.py``) as one
    training job through ``Backend.start_training`` with the split's channel and the model as
    channels: a subprocess like a trial locally (on a GPU when there is one), a training job
    on SageMaker. Its figures are read from the run's log lines. Each (model, split) is scored
    once and kept with the job (``Backend.save_evaluation``: in a local job's folder, next to a
    SageMaker job's spec in S3); later calls return the kept result unless ``force``.

    Args:
        job: a local job folder or name, or a SageMaker tuning job name.
        backend: ``"local"``, ``"sagemaker"``, a ``Backend``, or ``None`` (found from ``job``).
        split: the prepared split to score: ``test`` (default), ``validation`` or ``train``.
        model: a model to score instead of the job's best.
        force: score again even when this (model, split) was scored before.
        jobs_dir: where local jobs live.
        region: AWS region (SageMaker).
        boto_session: a ``boto3.Session`` (SageMaker).
        timeout: give up waiting for the evaluation run after this many seconds.
        poll_seconds: how often to ask SageMaker whether the run ended.

    Raises:
        BackendError: no model yet, the prepared data has no such split, or the run failed.
    """
    from ..backends import resolve_job

    if split not in SPLITS:
        raise BackendError(f"split {split!r} is not one of {', '.join(SPLITS)}")
    runner, job_id = resolve_job(job, backend, jobs_dir=jobs_dir, region=region, boto_session=boto_session)
    description = runner.describe(job_id)
    name = str(description["HyperParameterTuningJobName"])
    location, model_job, source = _model(runner, job_id, model)
    cached = None if force else saved_evaluation(runner, job_id, split, location)
    if cached is not None:
        return cached
    definition = description["TrainingJobDefinition"]
    static = dict(definition.get("StaticHyperParameters") or {})
    hyperparameters = {k: v for k, v in static.items() if k.startswith("sagemaker_") or k in KEPT_HYPERPARAMETERS}
    hyperparameters.update(sagemaker_program=EVALUATION_PROGRAM, split=split)
    job_channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in definition["InputDataConfig"]}
    channels = dict.fromkeys(job_channels, "")  # only the scored split and the model are downloaded
    channels.update({split: split_uri(runner, job_channels, split), "model": location})
    from ..compile.naming import unique_job_name

    training = runner.start_training(
        job_id, hyperparameters, name=unique_job_name(f"{name[:14].rstrip('-')}-eval"), channels=channels
    )
    answer = runner.wait_training(job_id, training, poll_seconds=poll_seconds, timeout=timeout)
    if answer["TrainingJobStatus"] != "Completed":
        reason = answer.get("FailureReason") or "no reason given"
        raise BackendError(f"evaluation run {training!r} ended {answer['TrainingJobStatus']}: {reason}")
    metrics, payload = read_log(runner.logs(job_id, training))
    evaluation = Evaluation(
        job=name,
        split=split,
        model=location,
        model_job=model_job,
        model_source=source,
        evaluation_job=training,
        examples=int(payload["examples"]),
        label_names=tuple(payload["label_names"]),
        metrics=metrics,
        per_class=tuple(payload.get("per_class") or ()),
        confusion_matrix=tuple(tuple(int(v) for v in row) for row in payload.get("confusion_matrix") or ()),
        official_metric=payload.get("official_metric"),
        validation=_validation(runner, job_id, model_job) if split != "validation" else None,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        device=str(payload.get("device", "")),
        problem_type=str(payload.get("problem_type") or "single_label_classification"),
        details=dict(payload.get("details") or {}),
    )
    save_evaluation(runner, job_id, evaluation)
    # A tracked job's MLflow tree gets the score from the doors above this module (TuningJob.evaluate,
    # hfst evaluate: tracking reads results, which read evaluations), or from `hfst track` later.
    return evaluation


def _model(runner: Backend, job: str, model: str | os.PathLike[str] | None) -> tuple[str, str | None, str]:
    """(location, training job that made it, source) of the model to score."""
    if model is None:
        artifact = runner.best_model(job)
        return artifact.location, artifact.training_job_name, artifact.source
    return runner.model_location(os.fspath(model)), None, "folder"


def split_uri(runner: Backend, channels: dict[str, str], split: str) -> str:
    """Where the prepared ``split`` is: the job's channel of that name, else a sibling of its train channel.

    ``hfst prepare`` writes ``<output>/train``, ``<output>/validation`` and ``<output>/test``;
    a job reads only train and validation, so test is found next to train.

    Raises:
        BackendError: a local prepared dataset has no such split.
    """
    if split in channels:
        return channels[split]
    train = channels.get("train")
    if train is None:
        raise BackendError(f"the job has no train channel to find the prepared {split!r} split next to")
    uri = train.rstrip("/").rsplit("/", 1)[0] + "/" + split
    folder = runner.local_path(uri)
    if folder is not None and not (folder / "state.json").is_file():  # prepared here: check before a run
        raise BackendError(
            f"the prepared dataset {folder.parent} has no {split!r} split: prepare it from a source "
            f"with a {split} split (e.g. a {split}.jsonl next to train.jsonl)"
        )
    return uri


def _validation(runner: Backend, job: str, training: str | None) -> dict[str, float] | None:
    """The model's own figures on validation (its run's last, kept evaluation), when the backend knows them."""
    if training is None:
        return None
    try:
        described = runner.describe_training(job, training)
        if str((described.get("HyperParameters") or {}).get("cv_refit", "")).strip('"') == "true":
            return None  # a refit trained on validation: its figure there is not held out, so no gap is shown
        final = {m["MetricName"]: float(m["Value"]) for m in described.get("FinalMetricDataList") or []}
        if not any(name.startswith("eval_") for name in final):
            final = {k: v[-1] for k, v in runner.metric_history(job, training).items() if v}
    except BackendError:
        return None
    kept = {k: v for k, v in final.items() if k.startswith("eval_")}
    return kept or None
