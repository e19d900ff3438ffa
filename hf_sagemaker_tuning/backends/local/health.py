"""``hfst doctor``: what is wrong with a local job folder, and the repairs that are safe to make.

``diagnose`` reads everything a crash, a full disk or a careless hand can damage and never
raises on a damaged file: each problem is named with its file and, when it has one, the safe
repair. ``repair`` makes those repairs holding the job's lock (only while no coordinator runs: one writer per job):
end orphaned trial processes (their trials are re-run on resume), rewrite a missing or invalid
``job.json``, mark a job whose coordinator died as stopped and resumable, record trial folders
``job.json`` does not list, empty a stale lock file, and rebuild ``study.db`` from the trial folders.

Records that disagree are named, never repaired by guessing: a finished trial whose ``trial.json``
disagrees with its log (the authority) or ``study.db`` (each file and both values, see
``agreement.py``), a copied or foreign trial folder (see ``jobs.trial_folders``), and a completed
trial whose log is gone.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ... import _process
from ...errors import BackendError, TuningError
from .agreement import LOG_FILE, disagreements, log_missing
from .jobs import JOB_FILE, REQUEST_FILE, TRIAL_FILE, JobFolder, inside, now, trial_folders
from .lock import JobBusyError, JobLock, lock_path, stale_holder
from .recovery import end_group, missing_trials, orphan_groups, rebuild_study, study_problem
from .state import JobState, Resumability, TrialRecord, read_model

if TYPE_CHECKING:  # pragma: no cover
    from ...compile.request import TuningJobRequest

#: Problem kinds, in the order ``repair`` handles them (``foreign``, ``disagree``, ``nolog``: a person's).
KINDS = (
    "request",
    "job",
    "trial",
    "foreign",
    "disagree",
    "nolog",
    "missing",
    "unrecorded",
    "coordinator",
    "orphans",
    "lock",
    "study",
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a job folder: what, and the safe repair (``None``: it needs a person)."""

    kind: str
    message: str
    repair: str | None = None
    advice: str | None = None


@dataclass
class Diagnosis:
    """Every problem found, and whether the job's coordinator runs (then nothing is repaired)."""

    folder: JobFolder
    problems: list[Problem] = field(default_factory=list)
    running_pid: int | None = None

    @property
    def healthy(self) -> bool:
        return not self.problems

    def add(self, kind: str, message: str, repair: str | None = None, advice: str | None = None) -> None:
        self.problems.append(Problem(kind, message, repair, advice))


def job_folder(job: str | os.PathLike[str], jobs_dir: str | os.PathLike[str] = "jobs") -> JobFolder:
    """A local job folder by path or by name under ``jobs_dir`` (``BackendError`` when it is neither)."""
    candidates = [Path(job)]
    with contextlib.suppress(BackendError):  # not a plain name: only the path is looked at
        candidates.append(inside(Path(jobs_dir), str(job), what="job name"))
    for path in candidates:
        if path.is_dir() and any((path / name).exists() for name in (REQUEST_FILE, JOB_FILE, "trials")):
            return JobFolder(path)
    raise BackendError(f"no local tuning job {str(job)!r} (neither a job folder nor a job in {jobs_dir})")


def _records(folder: JobFolder, diagnosis: Diagnosis, state: JobState | None) -> list[TrialRecord] | None:
    """The job's own readable trial records; ``None`` when one is unreadable (each is a problem).

    Copied and foreign trial folders are problems too, and not among the records.
    """
    intact = True
    subs = sorted(folder.trials_dir.iterdir()) if folder.trials_dir.is_dir() else []
    for sub in subs:
        if not (sub / TRIAL_FILE).is_file():
            continue
        try:
            read_model(sub / TRIAL_FILE, TrialRecord)
        except BackendError as exc:
            intact = False
            diagnosis.add("trial", str(exc), advice="fix the file, or delete the trial folder and its name in job.json")
    if not intact:
        return None
    listed = None if state is None or state.Trials is None else set(state.Trials)
    records, foreign = trial_folders(folder, "trials", listed)
    for message in foreign:
        diagnosis.add("foreign", message, advice="move the folder out of the job (it is not one of its trials)")
    return records


def _agreement(folder: JobFolder, request: TuningJobRequest, records: list[TrialRecord], diagnosis: Diagnosis) -> None:
    """Each finished trial whose ``trial.json``, log and ``study.db`` disagree (see ``agreement.py``)."""
    for found in disagreements(folder, request, records):
        diagnosis.add(
            "disagree",
            found.message,
            advice="restore the trial's files (its log is the authority); until then no best trial is reported",
        )
    for record in records:
        if not record.Superseded and log_missing(folder, record):
            diagnosis.add(
                "nolog",
                f"trial {record.TrainingJobName}: completed with FinalObjectiveValue {record.FinalObjectiveValue:g} "
                f"but {folder.trial_dir(record.TrainingJobName) / LOG_FILE} is missing, so it can't be checked",
                advice="restore the log",
            )


def diagnose(folder: JobFolder) -> Diagnosis:
    """Every problem of a local job folder (never raises on a damaged file)."""
    diagnosis = Diagnosis(folder)
    try:
        request = folder.request()
    except TuningError as exc:
        request = None
        diagnosis.add("request", str(exc), advice="the job cannot run without its compiled request; restore it")
    state: JobState | None = None
    if not folder.job_file.is_file():
        diagnosis.add("job", f"{folder.job_file} is missing", repair="write a new job.json (Stopped, resumable)")
    else:
        try:
            state = folder.state()
        except BackendError as exc:
            diagnosis.add("job", str(exc), repair="rewrite job.json (Stopped, resumable; the damaged file kept)")
    records = _records(folder, diagnosis, state)
    if request is not None and records is not None:
        _agreement(folder, request, records, diagnosis)
    if state is not None:
        missing = missing_trials(folder, state)
        if missing:
            diagnosis.add(
                "missing",
                f"{len(missing)} launched trial(s) have no folder (or no trial.json): {', '.join(missing)}",
                advice="restore the folders; until then no best trial is reported",
            )
        alive = _process.is_alive(state.CoordinatorPid, state.CoordinatorStarted)
        if alive:
            diagnosis.running_pid = state.CoordinatorPid
            return diagnosis  # a running job is its coordinator's to write; nothing else is judged
        if state.HyperParameterTuningJobStatus in ("InProgress", "Stopping"):
            diagnosis.add(
                "coordinator",
                f"the job is marked {state.HyperParameterTuningJobStatus} but its coordinator "
                f"(pid {state.CoordinatorPid}) is gone",
                repair="mark it Stopped and resumable (Interrupted)",
            )
        if records is not None and state.Trials is not None:
            unrecorded = sorted({r.TrainingJobName for r in records} - set(state.Trials))
            if unrecorded:
                diagnosis.add(
                    "unrecorded",
                    f"trial folder(s) not recorded in job.json: {', '.join(unrecorded)}",
                    repair="record them in job.json",
                )
    groups = orphan_groups(folder)
    if groups:
        pids = sorted(m.pid for members in groups.values() for m in members)
        diagnosis.add(
            "orphans",
            f"{len(pids)} trial process(es) run without a coordinator (pids {', '.join(map(str, pids))})",
            repair="end them (their trials are re-run on resume)",
        )
    stale = stale_holder(folder.path)
    if stale is not None:
        diagnosis.add(
            "lock",
            f"{lock_path(folder.path)} is stale: it names process {stale.pid}, which no longer holds the job "
            "(a killed coordinator left it; harmless, the next coordinator takes the lock over)",
            repair="empty it",
        )
    if request is not None:
        problem = study_problem(folder, request.job_name, records or [])
        if problem is not None:
            if records is None:
                diagnosis.add("study", problem, advice="fix the trial.json files first, then run --repair")
            else:
                diagnosis.add("study", problem, repair=f"rebuild it from the {len(records)} trial folder(s)")
    return diagnosis


def repair(folder: JobFolder, grace_seconds: float = 5.0) -> list[str]:
    """Make every safe repair ``diagnose`` proposes; return what was done.

    The repairs are made holding the job's lock (one writer per job): a coordinator, or a
    resume starting one, that holds it makes this refuse before anything is written.

    Raises:
        JobBusyError: another process holds the job's lock (its pid is named); nothing was written.
        BackendError: the job's coordinator runs (stop it first), or a repair could not write
            (a read-only or full folder: names the file and the folder).
    """
    stale = stale_holder(folder.path)  # before taking the lock: taking it names this process in the file
    try:
        try:
            lock = JobLock.acquire(folder.path)
        except JobBusyError as exc:
            who = f"process {exc.pid}" if exc.pid is not None else "another process"
            raise JobBusyError(
                f"job {folder.name!r} is held by {who} ({lock_path(folder.path)}); stop it first", exc.pid
            ) from None
        with lock:
            found = diagnose(folder)
            if found.running_pid is not None:
                raise BackendError(
                    f"job {folder.name!r} is running (coordinator pid {found.running_pid}); stop it first"
                )
            done = _repair(folder, found, grace_seconds)
        if stale is not None:  # taking and letting go of the lock emptied the file
            done.append(f"emptied the stale {lock_path(folder.path)}")
        return done
    except OSError as exc:
        where = exc.filename or folder.path
        raise BackendError(
            f"cannot repair {folder.path}: {where}: {exc.strerror or exc}; the job folder must be writable"
        ) from None


def _repair(folder: JobFolder, found: Diagnosis, grace_seconds: float) -> list[str]:
    kinds = {p.kind for p in found.problems if p.repair}
    done: list[str] = []
    if "orphans" in kinds:
        done.append(_end_orphans(folder, grace_seconds))
    if "job" in kinds:
        damaged = folder.job_file
        if damaged.is_file():
            os.replace(damaged, damaged.with_name(JOB_FILE + ".corrupt"))
        folder.write_state(_stopped(JobState(CreationTime=now())))
        done.append(f"wrote a new {folder.job_file} (Stopped, resumable)")
    if "coordinator" in kinds:
        folder.write_state(_stopped(folder.state()))
        done.append("marked the job Stopped and resumable")
    if "unrecorded" in kinds:
        state = folder.state()
        known = list(state.Trials or [])
        state.Trials = known + [r.TrainingJobName for r in folder.trial_records() if r.TrainingJobName not in known]
        folder.write_state(state)
        done.append("recorded every trial folder in job.json")
    if "study" in kinds:
        count = rebuild_study(folder, folder.request())
        done.append(f"rebuilt study.db from the trial folders ({count} trial(s)); the damaged file is study.db.corrupt")
    return done


def _stopped(state: JobState) -> JobState:
    state.HyperParameterTuningJobStatus = "Stopped"
    state.Resumability = Resumability.INTERRUPTED
    state.CompletionReason = state.CompletionReason or "the coordinator stopped unexpectedly (repaired by hfst doctor)"
    state.HyperParameterTuningEndTime = state.HyperParameterTuningEndTime or now()
    state.CoordinatorPid = state.CoordinatorStarted = None
    state.LastModifiedTime = now()
    return state


def _end_orphans(folder: JobFolder, grace_seconds: float) -> str:
    groups = orphan_groups(folder)
    for group, members in groups.items():
        end_group(group, members, grace_seconds)
    ended = set(groups)
    for record in folder.trial_records():
        if record.TrainingJobStatus in ("InProgress", "Stopping") and record.Pid in ended:
            record.TrainingJobStatus, record.StopReason = "Stopped", "Interrupted"  # re-run on resume
            record.Pid = record.PidStarted = None
            record.TrainingEndTime = now()
            folder.write_trial(record)
    return f"ended {len(groups)} orphaned trial process group(s)"
