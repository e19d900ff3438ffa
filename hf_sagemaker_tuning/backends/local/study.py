"""The optuna side of a local job: the study, warm start, proposals (grid, no repeats), re-running interrupted trials.

A resumed job never proposes a configuration it already tried: the sampler's seed is derived
from the job's seed and the trials already in the study (``search.resumed_seed``), a proposal
equal to a tried configuration is rejected (a bounded number of times), and the grid hands
out the next combination no trial has had yet, so no combination is queued twice.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ...errors import BackendError
from .jobs import JobFolder, inside
from .search import distributions, from_hyperparameters, grid, max_trials, pruner, sampler, to_hyperparameters
from .state import TrialRecord
from .trial import terminate

if TYPE_CHECKING:  # pragma: no cover
    import optuna

    from ...compile.request import TuningJobRequest

log = logging.getLogger("hf_sagemaker_tuning.local")


def trial_state(name: str) -> Any:
    """``optuna.trial.TrialState.<name>`` (optuna is imported only when a job runs)."""
    import optuna

    return getattr(optuna.trial.TrialState, name)


#: How many proposals equal to a tried configuration are rejected before one is accepted (a
#: small discrete space can run out of new configurations).
MAX_REJECTED = 20


def open_study(folder: JobFolder, request: TuningJobRequest) -> optuna.Study:
    """The job's study in its ``study.db`` (created on the first start, loaded on resume).

    Raises:
        BackendError: ``study.db`` cannot be read (names the file; ``hfst doctor`` repairs it).
    """
    import optuna
    import sqlalchemy.exc

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with warnings.catch_warnings():
        # constant_liar/multivariate TPE are marked experimental by optuna; we rely on them on purpose.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        try:
            study = optuna.create_study(
                storage=folder.storage_url,
                study_name=request.job_name,
                direction="maximize" if request.maximize else "minimize",
                sampler=sampler(request),
                pruner=pruner(request),
                load_if_exists=True,
            )
            tried = len(study.get_trials(deepcopy=False))
            if tried:
                study.sampler = sampler(request, tried)
        except (sqlalchemy.exc.SQLAlchemyError, KeyError, ValueError) as exc:
            raise BackendError(
                f"{folder.path / 'study.db'} cannot be read ({str(exc).splitlines()[0]}); "
                f"run `hfst doctor {folder.path} --repair` to rebuild it from the trial folders"
            ) from None
    return study


def prepare(study: optuna.Study, folder: JobFolder, request: TuningJobRequest) -> None:
    """Seed a new study (warm start); the grid is handed out one combination at a time (``propose``)."""
    first_start = not folder.trials_dir.is_dir() and not study.get_trials(deepcopy=False)
    if first_start:
        warm_start(study, folder, request)


def config_key(tuned: Mapping[str, str]) -> str:
    """One configuration as a comparable string (the tuned hyperparameters the trial sees)."""
    return json.dumps(dict(tuned), sort_keys=True)


def propose(study: optuna.Study, request: TuningJobRequest, tried: Iterable[Mapping[str, str]]) -> optuna.trial.Trial:
    """Ask the study for the next trial: a re-queued trial first, else the next grid combination,
    else a sampled configuration that no trial had (``MAX_REJECTED`` repeats are rejected)."""
    dists = distributions(request)
    if study.get_trials(deepcopy=False, states=(trial_state("WAITING"),)):
        return study.ask(dists)  # a re-queued interrupted trial: the same configuration, on purpose
    seen = {config_key(t) for t in tried}
    if request.HyperParameterTuningJobConfig.Strategy == "Grid":
        for combo in grid(request)[: max_trials(request)]:
            if config_key(_formatted(request, combo)) not in seen:
                study.enqueue_trial(combo)
                return study.ask(dists)
    for _ in range(MAX_REJECTED):
        trial = study.ask(dists)
        if config_key(to_hyperparameters(request, trial.params)) not in seen:
            return trial
        trial.set_user_attr("hfst_rejected", "repeats a tried configuration")
        study.tell(trial, state=trial_state("FAIL"))
    return study.ask(dists)


def _formatted(request: TuningJobRequest, combo: dict[str, str]) -> dict[str, str]:
    try:
        return to_hyperparameters(request, from_hyperparameters(request, combo))
    except (KeyError, ValueError):
        return combo


def requeue(
    study: optuna.Study, folder: JobFolder, request: TuningJobRequest, record: TrialRecord, grace_seconds: float
) -> None:
    """Supersede an interrupted trial and queue its hyperparameters again, so the count stays exact."""
    if record.Pid:  # an orphan of a killed coordinator; signalled only if it is still that process
        terminate(record.Pid, grace_seconds=grace_seconds, started=record.PidStarted)
    record.Superseded = True
    record.TrainingJobStatus = "Stopped"
    record.StopReason = record.StopReason or "Interrupted"
    record.Pid = record.PidStarted = None
    folder.write_trial(record)
    number = record.TrialNumber
    if number is not None and number < len(study.trials) and study.trials[number].state == trial_state("RUNNING"):
        study.tell(number, state=trial_state("FAIL"))
    study.enqueue_trial(from_hyperparameters(request, record.TunedHyperParameters))
    log.info("re-running %s (interrupted) with the same hyperparameters", record.TrainingJobName)


def warm_start(study: optuna.Study, folder: JobFolder, request: TuningJobRequest) -> None:
    """Seed the search with the parents' finished trials that fit this job's ranges.

    Parents are looked up beside this job's folder. Seeded trials inform the sampler but are
    not this job's trials (they do not count towards MaxNumberOfTrainingJobs).
    """
    import optuna

    warm = request.WarmStartConfig
    if warm is None:
        return
    dists = distributions(request)
    for parent in warm.ParentHyperParameterTuningJobs:
        parent_folder = JobFolder(inside(folder.path.parent, parent.HyperParameterTuningJobName, what="parent job"))
        if not parent_folder.exists():
            raise BackendError(
                f"warm start: parent job {parent.HyperParameterTuningJobName!r} is not in {parent_folder.path.parent}"
            )
        added = 0
        for record in parent_folder.trial_records():
            value = record.FinalObjectiveValue
            if record.Superseded or record.TrainingJobStatus != "Completed" or value is None:
                continue
            try:
                params = from_hyperparameters(request, record.TunedHyperParameters)
                study.add_trial(optuna.trial.create_trial(params=params, distributions=dists, value=value))
            except (KeyError, ValueError):
                continue  # outside the narrowed ranges, or a parameter this job does not tune
            added += 1
        log.info("warm start: %d trials from %s", added, parent.HyperParameterTuningJobName)
