"""The optuna side of a local job: the study, warm start, proposals (grid, no repeats), re-running interrupted trials.

``study.db`` is created whole or not at all: the study (with its warm-start trials) is written
to a temporary file that is renamed into place, so a kill at any instant leaves either no file
or one holding the study once (optuna creates its tables and their unique indexes in separate
statements: a kill between them once left a file that took the study twice). An existing file
is only ever loaded, never created again.

Trial folders are the authority on how a trial ended: the coordinator writes ``trial.json``
before it tells the study, and ``reconcile`` tells the study what a killed coordinator had no
time to tell it.

A resumed job never proposes a configuration it already tried: each proposal's sampler seed is
derived from the job's seed and the trial's index (``search.proposal_seed``), a proposal equal
to a tried configuration is rejected (a bounded number of times), and the grid hands out the
next combination no trial has had yet, so no combination is queued twice.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ...errors import BackendError
from .agreement import check_agreement
from .jobs import STUDY_FILE, JobFolder, inside
from .search import (
    distributions,
    from_hyperparameters,
    grid,
    max_trials,
    proposal_seed,
    pruner,
    sampler,
    to_hyperparameters,
)
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
#: Prefix of the temporary files a study is built in (a killed build leaves one; it is removed).
TEMPORARY_PREFIX = f".{STUDY_FILE}."


def create_study_file(
    folder: JobFolder,
    request: TuningJobRequest,
    fill: Callable[[optuna.Study], None] | None = None,
    before_rename: Callable[[], None] | None = None,
) -> None:
    """Write a new ``study.db`` atomically: built in a temporary file (``fill`` adds trials), then
    renamed into place (``before_rename`` runs just before; the file it replaces is still there)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for leftover in folder.path.glob(TEMPORARY_PREFIX + "*"):
        leftover.unlink(missing_ok=True)  # what a killed build left
    tmp = folder.path / f"{TEMPORARY_PREFIX}{uuid.uuid4().hex[:8]}.tmp"
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp.resolve()}")
    try:
        study = optuna.create_study(
            storage=storage,
            study_name=request.job_name,
            direction="maximize" if request.maximize else "minimize",
            sampler=sampler(request),
        )
        if fill is not None:
            fill(study)
    except BaseException:
        storage.engine.dispose()
        for path in (tmp, tmp.with_name(tmp.name + "-journal")):
            path.unlink(missing_ok=True)
        raise
    storage.engine.dispose()
    with open(tmp, "rb+") as handle:
        os.fsync(handle.fileno())
    if before_rename is not None:
        before_rename()
    target = folder.path / STUDY_FILE
    for journal in (target.with_name(STUDY_FILE + "-journal"), target.with_name(STUDY_FILE + "-wal")):
        journal.unlink(missing_ok=True)  # a hot journal of the replaced file must never meet the new one
    os.replace(tmp, target)
    with contextlib.suppress(OSError):  # the rename itself survives a power cut
        directory = os.open(folder.path, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def open_study(folder: JobFolder, request: TuningJobRequest) -> optuna.Study:
    """The job's study in its ``study.db`` (created whole on the first start, with its warm start; loaded after).

    Raises:
        BackendError: ``study.db`` cannot be read (names the file; ``hfst doctor`` repairs it).
    """
    import optuna
    import sqlalchemy.exc

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if not (folder.path / STUDY_FILE).is_file():
        create_study_file(folder, request, lambda study: warm_start(study, folder, request))
    try:
        return optuna.load_study(
            study_name=request.job_name, storage=folder.storage_url, sampler=sampler(request), pruner=pruner(request)
        )
    except (sqlalchemy.exc.SQLAlchemyError, KeyError, ValueError) as exc:
        raise BackendError(
            f"{folder.path / STUDY_FILE} cannot be read ({str(exc).splitlines()[0]}); "
            f"run `hfst doctor {folder.path} --repair` to rebuild it from the trial folders"
        ) from None


def tell_record(study: optuna.Study, trial: optuna.trial.Trial | int, record: TrialRecord) -> bool:
    """Tell the study how a finished trial ended, as its ``trial.json`` says; ``False``: nothing to tell.

    Completed: its objective. Early-stopped: pruned. Failed: failed. Interrupted trials stay
    running in optuna (a resume re-runs them); trials stopped by a completion rule are failed
    by the next resume's clean-up.
    """
    if record.TrainingJobStatus == "Completed" and record.FinalObjectiveValue is not None:
        study.tell(trial, record.FinalObjectiveValue)
    elif record.TrainingJobStatus == "Stopped" and record.StopReason == "EarlyStopping":
        study.tell(trial, state=trial_state("PRUNED"))
    elif record.TrainingJobStatus == "Failed":
        study.tell(trial, state=trial_state("FAIL"))
    else:
        return False
    return True


def reconcile(study: optuna.Study, records: Iterable[TrialRecord]) -> list[str]:
    """Tell the study what finished trials' records say and it does not know yet (a kill came between).

    Returns:
        The names of the trials told.
    """
    trials = study.get_trials(deepcopy=False)
    told = []
    for record in records:
        number = record.TrialNumber
        if record.Superseded or record.unfinished or number is None or number >= len(trials):
            continue
        if trials[number].state == trial_state("RUNNING") and tell_record(study, number, record):
            told.append(record.TrainingJobName)
    return told


def config_key(tuned: Mapping[str, str]) -> str:
    """One configuration as a comparable string (the tuned hyperparameters the trial sees)."""
    return json.dumps(dict(tuned), sort_keys=True)


def propose(
    study: optuna.Study, request: TuningJobRequest, tried: Iterable[Mapping[str, str]], index: int
) -> optuna.trial.Trial:
    """Ask the study for the job's ``index``-th trial: a re-queued trial first, else the next grid
    combination, else a sampled configuration that no trial had (``MAX_REJECTED`` repeats are
    rejected). A seeded job's sampler is seeded for this proposal (``search.proposal_seed``)."""
    dists = distributions(request)
    seed = request.HyperParameterTuningJobConfig.RandomSeed

    def ask(attempt: int) -> optuna.trial.Trial:
        if seed is not None:
            study.sampler = sampler(request, proposal_seed(seed, index, attempt))
        return study.ask(dists)

    if study.get_trials(deepcopy=False, states=(trial_state("WAITING"),)):
        return ask(0)  # a re-queued interrupted trial: the same configuration, on purpose
    seen = {config_key(t) for t in tried}
    if request.HyperParameterTuningJobConfig.Strategy == "Grid":
        for combo in grid(request)[: max_trials(request)]:
            if config_key(_formatted(request, combo)) not in seen:
                study.enqueue_trial(combo)
                return ask(0)
    for attempt in range(MAX_REJECTED):
        trial = ask(attempt)
        if config_key(to_hyperparameters(request, trial.params)) not in seen:
            return trial
        trial.set_user_attr("hfst_rejected", "repeats a tried configuration")
        study.tell(trial, state=trial_state("FAIL"))
    return ask(MAX_REJECTED)


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
    not this job's trials (they do not count towards MaxNumberOfTrainingJobs). A parent's
    records are checked as status and results check them (``agreement.py``).

    Raises:
        BackendError: a parent is missing, or one of its finished trials' records disagree
            (names the trial, its files and both values).
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
        records = [r for r in parent_folder.trial_records() if not r.Superseded]
        try:  # the check status and results make: a value its log contradicts never seeds the search
            check_agreement(parent_folder, parent_folder.request(), records)
        except BackendError as exc:
            raise BackendError(f"warm start from parent job {parent.HyperParameterTuningJobName!r}: {exc}") from None
        added = 0
        for record in records:
            value = record.FinalObjectiveValue
            if record.TrainingJobStatus != "Completed" or value is None:
                continue
            try:
                params = from_hyperparameters(request, record.TunedHyperParameters)
                study.add_trial(optuna.trial.create_trial(params=params, distributions=dists, value=value))
            except (KeyError, ValueError):
                continue  # outside the narrowed ranges, or a parameter this job does not tune
            added += 1
        log.info("warm start: %d trials from %s", added, parent.HyperParameterTuningJobName)
