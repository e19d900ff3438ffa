"""Retrain: one training job with the best trial's hyperparameters and a longer budget, on the job's backend.

The run belongs to the tuning job (``Backend.start_training``), so ``Backend.best_model``
and everything built on it (``deploy``) pick up the retrained model once it completes.
A longer run keeps its *last* evaluation by default: "train longer" must change the model,
while keeping the best checkpoint by the validation metric would often keep an early one.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ..errors import BackendError, SpecError
from ..ranges import unquote
from ..specs.cross_validation import base_metric
from ..trials import Trial

if TYPE_CHECKING:  # pragma: no cover
    from ..backends.base import Backend
    from ..selection import Selection
    from ..specs import TuningJobSpec

Keep = Literal["last", "best"]
#: Hyperparameters a tuner adds to every trial that are not the training package's.
_TUNER_ADDED = ("_tuning_objective_metric",)


@dataclass(frozen=True)
class RetrainResult:
    """What a retrain run did.

    Attributes:
        training_job_name: the run's name (a SageMaker training job, or a folder under ``<job>/retrain``).
        status: ``Completed``, ``Failed``, ``Stopped`` or (SageMaker, not waited for) ``InProgress``.
        hyperparameters: every hyperparameter the run got.
        failure_reason: why it failed, when it did.
        objective: the objective metric's last value (the kept model's), when known.
        model: the model folder (local) or ``model.tar.gz`` (SageMaker), when completed.
        kept: which checkpoint the run kept, in words, when known.
        trial: the trial whose hyperparameters it was trained with (the job's best, or best so far).
        job_status: the tuning job's status when the run started (``InProgress``: the best so far).
    """

    training_job_name: str
    status: str
    hyperparameters: dict[str, str]
    failure_reason: str | None = None
    objective: float | None = None
    model: str | None = None
    kept: str | None = None
    trial: str | None = None
    job_status: str | None = None


def _format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _declared(description: Mapping[str, Any], spec: TuningJobSpec | None) -> dict[str, tuple[str, ...] | None] | None:
    """Name -> allowed choices of the hyperparameters the job's training code declares; None: unknown."""
    from ..contract import declared_hyperparameters, is_bundled_package

    if spec is not None and spec.training.entry_point is not None:
        names = spec.training.declared_hyperparameters
        return None if names is None else dict.fromkeys([*names, "model_name_or_path"])  # the spec's model
    source = str(
        description["TrainingJobDefinition"].get("StaticHyperParameters", {}).get("sagemaker_submit_directory")
    )
    if spec is None and not source.startswith("s3://") and not is_bundled_package(source):
        return None  # your own training code, and no spec kept that declares its hyperparameters
    return {name: decl.choices for name, decl in declared_hyperparameters().items()}


def retrain_hyperparameters(
    description: Mapping[str, Any],
    *,
    epochs: float | None = None,
    keep: Keep = "last",
    spec: TuningJobSpec | None = None,
    best: Trial | None = None,
) -> dict[str, str]:
    """The job's static hyperparameters plus the best trial's tuned ones, checked and adjusted for a retrain.

    Values read back from the service are checked against the hyperparameters the job's
    training code declares (the bundled package's list, or ``training.declared_hyperparameters``
    of the job's spec), with SDK v2's JSON quotes removed: an unknown name or a value outside
    its choices is an error here, not a failed, billed training job later.

    ``best`` is the trial to retrain (``Backend.best_trial``); by default the description's
    ``BestTrainingJob`` (which every backend fills in by the same rule).

    Raises:
        BackendError: the job has no best trial yet.
        SpecError: a hyperparameter read back is not one the training code accepts.
    """
    if best is None and description.get("BestTrainingJob"):
        best = Trial.from_summary(description["BestTrainingJob"])
    if best is None:
        name = description.get("HyperParameterTuningJobName")
        raise BackendError(f"tuning job {name!r} has no best trial yet")
    merged = {**description["TrainingJobDefinition"].get("StaticHyperParameters", {}), **best.hyperparameters}
    declared = _declared(description, spec)
    out: dict[str, str] = {}
    problems: list[tuple[str, str]] = []
    for key, raw in merged.items():
        if key in _TUNER_ADDED:
            continue
        if key.startswith("sagemaker_"):
            out[key] = str(raw)
            continue
        value = unquote(str(raw))
        if declared is not None and key not in declared:
            problems.append((key, "is not a hyperparameter the training code declares"))
        elif declared is not None and (choices := declared[key]) is not None and value not in choices:
            problems.append((key, f"is {value!r}; allowed: {', '.join(choices)}"))
        out[key] = value
    if problems:
        lines = "\n".join(f"  hyperparameters.{k}: {m}" for k, m in problems)
        raise SpecError(f"the best trial's hyperparameters can't be used for a retrain:\n{lines}", problems)
    if epochs is not None:
        if not (math.isfinite(epochs) and epochs > 0):
            raise SpecError(f"epochs must be a positive number, not {epochs!r}", [("epochs", "must be > 0")])
        out["epochs"] = _format_number(epochs)
        out.pop("max_steps", None)  # a step budget would override the longer epochs
    if declared is not None and "save_model" in declared:
        out["save_model"] = keep
        metric = description["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]["MetricName"]
        if keep == "best" and metric in (declared.get("metric_for_best_model") or ()):
            out["metric_for_best_model"] = metric  # the checkpoint that is best by the tuned objective
    return out


def refit_hyperparameters(hyperparameters: Mapping[str, str], mean_steps: float) -> dict[str, str]:
    """A cross-validated configuration's hyperparameters turned into its refit's.

    One model (no folds, no seeds) on every row the folds were cut from, for the folds' mean number of
    optimizer steps (rounded, at least 1), keeping the last model (no early stopping) and evaluating once,
    at the end.

    Raises:
        SpecError: the configuration was not cross-validated, or the mean number of steps is unusable.
    """
    if int(hyperparameters.get("cv_folds", "0") or 0) < 1:
        raise SpecError(
            "refit trains a cross-validated configuration on all its folds' data; this job has no "
            "tuning.cross_validation (use retrain without refit)",
            [("refit", "needs tuning.cross_validation")],
        )
    if not (math.isfinite(mean_steps) and mean_steps > 0):
        raise SpecError(f"the folds' mean number of steps is {mean_steps!r}", [("refit", "needs eval_cv_steps")])
    out = {k: v for k, v in hyperparameters.items() if k not in ("cv_folds", "cv_repeats", "cv_keep_models")}
    out.update({"cv_refit": "true", "max_steps": str(max(1, round(mean_steps))), "save_model": "last"})
    out["eval_steps"] = "0"  # one evaluation, at the end: nothing is chosen on it
    return out


def mean_steps_of(runner: Backend, job: str, trial: Trial) -> float:
    """The mean step of the kept evaluations of a cross-validated trial's folds (``eval_cv_steps``)."""
    from ..specs.cross_validation import CV_STEPS

    if CV_STEPS in trial.metrics:
        return float(trial.metrics[CV_STEPS])
    answer = runner.describe_training(job, trial.name)
    finals = {m["MetricName"]: float(m["Value"]) for m in answer.get("FinalMetricDataList") or []}
    if CV_STEPS not in finals:
        raise BackendError(
            f"trial {trial.name} reported no {CV_STEPS} (the folds' mean number of steps): was it cross-validated "
            "by the bundled training package?"
        )
    return finals[CV_STEPS]


def chosen_trial(runner: Backend, job: str, rule: Selection | None, spec: TuningJobSpec | None) -> Trial | None:
    """The trial a refit trains: by ``rule``, else the spec's ``tuning.selection``, else the best mean."""
    from ..backends.base import maximize
    from ..selection import select_trial

    chosen: Selection = rule or (spec.tuning.selection if spec is not None else "best_mean")

    def read(trial: Trial) -> dict[str, float]:
        answer = runner.describe_training(job, trial.name)
        return {m["MetricName"]: float(m["Value"]) for m in answer.get("FinalMetricDataList") or []}

    return select_trial(runner.list_trials(job), maximize(runner.describe(job)), chosen, read)


def retrain(
    job: str | os.PathLike[str],
    backend: str | Backend | None = None,
    *,
    epochs: float | None = None,
    keep: Keep = "last",
    wait: bool = True,
    name: str | None = None,
    jobs_dir: str | os.PathLike[str] = "jobs",
    region: str | None = None,
    boto_session: Any | None = None,
    allow_running: bool = False,
    notify: Callable[[str], None] | None = None,
    refit: bool = False,
    selection: Selection | None = None,
) -> RetrainResult:
    """Train the best configuration of a tuning job again (e.g. longer), on the job's own backend.

    With ``refit`` (a cross-validated job) the configuration chosen by ``selection`` is trained once on
    every row the folds were cut from (train + validation when both), for the folds' mean number of
    optimizer steps, keeping the last model: that model is what ``deploy`` and ``evaluate`` use next.

    A job that is still running has only a best trial *so far*: that is refused unless
    ``allow_running`` (then ``RetrainResult.trial`` and ``job_status`` say what was used).

    Args:
        job: a local job folder or name, or a SageMaker tuning job name.
        backend: ``"local"``, ``"sagemaker"``, a ``Backend``, or ``None`` (found from ``job``).
        epochs: train this many epochs (default: as tuned).
        keep: ``"last"`` (default) keeps the final model; ``"best"`` keeps the checkpoint that is best by
            the job's objective metric on the validation split.
        wait: wait for the run to end (the local backend always runs it to the end).
        name: the run's name (default: derived from the job's).
        jobs_dir: where local jobs live.
        region: AWS region (SageMaker).
        boto_session: a ``boto3.Session`` (SageMaker).
        allow_running: retrain the best trial so far of a job that has not ended.
        notify: called with one plain line when the run starts (which trial, of which job).
        refit: refit a cross-validated configuration on all its folds' data (``epochs`` and ``keep`` must
            stay unset: the budget is the folds' mean number of steps, and the last model is kept).
        selection: ``best_mean`` or ``one_standard_error`` (default: the job spec's ``tuning.selection``).

    Returns:
        The run's ``RetrainResult``; once completed, ``deploy`` serves its model.

    Raises:
        BackendError: the job is still running (and not ``allow_running``), or has no best trial yet.
    """
    if keep not in ("last", "best"):
        raise SpecError(f"keep must be 'last' or 'best', not {keep!r}", [("keep", "must be 'last' or 'best'")])
    from ..backends import resolve_job
    from ..backends.base import JOB_TERMINAL

    if refit and (epochs is not None or keep != "last"):
        raise SpecError(
            "refit trains for the folds' mean number of steps and keeps the last model: leave epochs and keep unset",
            [("refit", "epochs and keep do not apply")],
        )
    runner, job_id = resolve_job(job, backend, jobs_dir=jobs_dir, region=region, boto_session=boto_session)
    description = runner.describe(job_id)
    job_status = str(description["HyperParameterTuningJobStatus"])
    spec = runner.spec(job_id)
    best = chosen_trial(runner, job_id, selection, spec) if refit or selection else runner.best_trial(job_id)
    if job_status not in JOB_TERMINAL and not allow_running:
        raise BackendError(running_refusal(description, best))
    if best is None:
        raise BackendError(f"tuning job {runner.job_name(job_id)!r} has no best trial yet")
    hyperparameters = retrain_hyperparameters(description, epochs=epochs, keep=keep, spec=spec, best=best)
    if refit:
        hyperparameters = refit_hyperparameters(hyperparameters, mean_steps_of(runner, job_id, best))
    if notify is not None:
        notify(start_line(description, best, hyperparameters))
    training = runner.start_training(job_id, hyperparameters, name=name)
    answer = runner.wait_training(job_id, training) if wait else runner.describe_training(job_id, training)
    status = str(answer["TrainingJobStatus"])
    metric = description["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]["MetricName"]
    if refit:  # one model: its own value of the metric the folds averaged
        metric = base_metric(metric)
    finals = {m["MetricName"]: float(m["Value"]) for m in answer.get("FinalMetricDataList") or []}
    model = (answer.get("ModelArtifacts") or {}).get("S3ModelArtifacts") if status == "Completed" else None
    kept = None
    if status == "Completed":
        artifact = runner.best_model(job_id)
        if artifact.training_job_name == training:
            kept, model = artifact.kept, artifact.location
    if status in ("Completed", "Failed", "Stopped"):
        from ..tracking import after_run

        after_run(runner, job_id)  # a tracked job's MLflow tree gets the retrain (never fails it)
    return RetrainResult(
        training_job_name=training,
        status=status,
        hyperparameters=dict(answer.get("HyperParameters") or hyperparameters),
        failure_reason=answer.get("FailureReason"),
        objective=finals.get(metric),
        model=None if model is None else str(model),
        kept=kept,
        trial=best.name,
        job_status=job_status,
    )


def start_line(description: Mapping[str, Any], best: Trial, hyperparameters: Mapping[str, str]) -> str:
    """What a retrain is about to train, in one line (loud when the job has not ended)."""
    objective = "" if best.objective is None else f" (objective {best.objective:.6g})"
    if hyperparameters.get("cv_refit") == "true":
        budget = f"refit on all folds' data for max_steps={hyperparameters['max_steps']} (the folds' mean)"
    else:
        budget = f"epochs={hyperparameters['epochs']}" if "epochs" in hyperparameters else "epochs as tuned"
    keep = f", save_model={hyperparameters['save_model']}" if "save_model" in hyperparameters else ""
    line = (
        f"retraining trial {best.name}{objective} of tuning job "
        f"{description.get('HyperParameterTuningJobName')}: {budget}{keep}"
    )
    status = description.get("HyperParameterTuningJobStatus")
    if status not in ("Completed", "Failed", "Stopped"):
        line += f"; the job is still {status}: this is its best trial SO FAR"
    return line


def running_refusal(description: Mapping[str, Any], best: Trial | None) -> str:
    """Why a retrain of a job that has not ended is refused, naming its best trial so far."""
    name = description.get("HyperParameterTuningJobName")
    counters = description.get("TrainingJobStatusCounters") or {}
    limit = (description.get("HyperParameterTuningJobConfig") or {}).get("ResourceLimits", {})
    done = f"{counters.get('Completed', 0)} of {limit.get('MaxNumberOfTrainingJobs', '?')} trials completed"
    if best is not None:
        so_far = f"its best trial so far is {best.name}" + (
            "" if best.objective is None else f" (objective {best.objective:.6g})"
        )
    else:
        so_far = "it has no best trial yet"
    return (
        f"tuning job {name!r} is still running ({description.get('HyperParameterTuningJobStatus')}, {done}); "
        f"{so_far}. Wait for it to end, or retrain the best so far with allow_running=True "
        "(hfst retrain --allow-running)"
    )
