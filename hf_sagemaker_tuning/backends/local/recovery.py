"""What a resume, ``status`` and ``hfst doctor`` need to trust a job folder after a crash.

* ``study_problem`` / ``rebuild_study``: a missing, truncated or corrupt ``study.db`` is found
  before a coordinator starts (SQLite's own check, read-only), and the study is re-created from
  the trial folders (every trial's parameters, state and values are in its ``trial.json``).
* ``missing_trials`` / ``check_trials``: ``job.json`` names every trial the coordinator launched;
  a trial folder that is gone makes readers refuse to name a best trial.
* ``seen_now``: a trial recorded as running whose coordinator is gone, as it really is (its
  process still runs, it finished and left ``exit.json``, or it was interrupted).
* ``orphan_groups``: trial processes of this job that still run, found by their
  ``SAGEMAKER_BASE_DIR`` (so even one the coordinator had no time to record is found).
"""

from __future__ import annotations

import contextlib
import logging
import math
import shutil
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ... import _process
from ...errors import BackendError
from .jobs import STUDY_FILE, TRIAL_FILE, JobFolder
from .runner import Outcome, TrialRun, apply_outcome
from .search import distributions, from_hyperparameters
from .state import JobState, TrialRecord
from .trial import EXIT_FILE, Launch, read_exit

if TYPE_CHECKING:  # pragma: no cover
    from ...compile.request import TuningJobRequest

log = logging.getLogger("hf_sagemaker_tuning.local")
DOCTOR_HINT = "run `hfst doctor {path}` to see what is wrong and what can be repaired"


def study_path(folder: JobFolder) -> Path:
    return folder.path / STUDY_FILE


def study_problem(folder: JobFolder, study_name: str, records: list[TrialRecord] | None = None) -> str | None:
    """What is wrong with the job's ``study.db``, or ``None`` when it is sound (or not needed yet).

    Checks (SQLite only rolls back what a killed writer left): the file exists once trials were
    launched, SQLite reads it and its
    ``quick_check`` passes, it holds the job's study, and that study has at least as many trials
    as the trial records refer to (an older copy put back would not).
    """
    path = study_path(folder)
    records = folder.trial_records() if records is None else records
    if not path.is_file():
        return f"{path} is missing though {len(records)} trial(s) were launched" if records else None
    try:
        # Read-write (never create): SQLite rolls back the hot journal a killed writer left, as it must.
        with contextlib.closing(sqlite3.connect(f"file:{path.resolve()}?mode=rw", uri=True)) as db:
            check = db.execute("PRAGMA quick_check").fetchall()
            if check != [("ok",)]:
                return f"{path} is corrupt: {'; '.join(str(row[0]) for row in check[:3])}"
            rows = db.execute("SELECT study_id FROM studies WHERE study_name = ?", (study_name,)).fetchall()
            if not rows:  # an old coordinator killed while creating it, before any trial: nothing lost
                return f"{path} does not hold the study {study_name!r}" if records else None
            if len(rows) > 1 or not _study_names_unique(db):
                return (
                    f"{path} holds the study {study_name!r} {len(rows)} time(s) and does not keep study names "
                    "unique (a coordinator was killed while creating it)"
                )
            (count,) = db.execute("SELECT count(*) FROM trials WHERE study_id = ?", (rows[0][0],)).fetchone()
    except sqlite3.Error as exc:
        return f"{path} is unreadable or corrupt ({exc})"
    numbers = [r.TrialNumber for r in records if r.TrialNumber is not None]
    if numbers and max(numbers) >= count:
        return f"{path} holds {count} trial(s) but the trial folders refer to trial number {max(numbers)}"
    return None


def _study_names_unique(db: sqlite3.Connection) -> bool:
    """Whether the ``studies`` table has optuna's unique index on ``study_name`` (without it, every
    reopening of the study would add it again)."""
    for index in db.execute("PRAGMA index_list(studies)").fetchall():
        name, unique = index[1], index[2]
        columns = [row[2] for row in db.execute(f"PRAGMA index_info('{name}')").fetchall()]
        if unique and columns == ["study_name"]:
            return True
    return False


def rebuild_study(folder: JobFolder, request: TuningJobRequest) -> int:
    """Re-create ``study.db`` from the trial folders; the damaged file is kept as ``study.db.corrupt``.

    Every trial is added with its parameters, state and values (completed: its objective;
    early-stopped: pruned with its curve; failed or stopped: failed; still unfinished:
    running, so the resume adopts or re-runs it). Each record's ``TrialNumber`` is updated.

    Returns:
        How many trials the new study holds (warm-start trials included).

    Raises:
        BackendError: a trial folder's ``trial.json`` is unreadable (the folders are not intact).
    """
    import optuna

    from .study import create_study_file, trial_state, warm_start

    records = folder.trial_records()  # raises, naming the file, when a trial.json is invalid
    dists = distributions(request)
    metric = request.objective_metric
    numbers: dict[str, int | None] = {}

    def fill(study: optuna.Study) -> None:
        warm_start(study, folder, request)
        for record in records:
            if record.Superseded:
                continue
            try:
                params = from_hyperparameters(request, record.TunedHyperParameters)
            except (KeyError, ValueError):
                numbers[record.TrainingJobName] = None
                continue
            curve = record.Metrics.get(metric, [])
            steps = {i + 1: v for i, v in enumerate(curve) if math.isfinite(v)}
            value, state = None, trial_state("FAIL")
            if record.unfinished:
                state, steps = trial_state("RUNNING"), {}
            elif record.TrainingJobStatus == "Completed" and record.FinalObjectiveValue is not None:
                value, state = record.FinalObjectiveValue, trial_state("COMPLETE")
            elif record.StopReason == "EarlyStopping":
                state = trial_state("PRUNED")
            trial = optuna.trial.create_trial(
                params=params, distributions=dists, value=value, state=state, intermediate_values=steps
            )
            study.add_trial(trial)
            numbers[record.TrainingJobName] = len(study.get_trials(deepcopy=False)) - 1
        numbers[""] = len(study.get_trials(deepcopy=False))

    path = study_path(folder)

    def before_rename() -> None:
        # The records name their new trial numbers first: they only matter once the new file is
        # in place, and a kill before that leaves the damaged file, rebuilt again by the next resume.
        for record in records:
            if record.TrainingJobName in numbers and record.TrialNumber != numbers[record.TrainingJobName]:
                record.TrialNumber = numbers[record.TrainingJobName]
                folder.write_trial(record)
        if path.exists():
            shutil.copyfile(path, path.with_name(STUDY_FILE + ".corrupt"))

    create_study_file(folder, request, fill, before_rename)
    log.warning("rebuilt %s from %d trial folder(s)", path, len(records))
    return numbers.get("") or 0


def ensure_study(folder: JobFolder, request: TuningJobRequest) -> str | None:
    """Before a resume: rebuild a damaged ``study.db`` from intact trial folders; say what was done.

    Raises:
        BackendError: the study is damaged and the trial folders cannot rebuild it (names the
            file and points at ``hfst doctor``).
    """
    try:
        records = folder.trial_records()
    except BackendError as exc:
        raise BackendError(f"{exc}; {DOCTOR_HINT.format(path=folder.path)}") from None
    problem = study_problem(folder, request.job_name, records)
    if problem is None:
        return None
    count = rebuild_study(folder, request)
    return f"{problem}: rebuilt it from the trial folders ({count} trial(s)); the damaged file is study.db.corrupt"


def missing_trials(folder: JobFolder, state: JobState) -> list[str]:
    """Trials ``job.json`` says were launched whose folder (or ``trial.json``) is gone (or not the job's own)."""
    return [name for name in state.Trials or [] if not _has_folder(folder, name)]


def _has_folder(folder: JobFolder, trial: str) -> bool:
    try:
        return (folder.trial_dir(trial) / TRIAL_FILE).is_file()
    except BackendError:  # a name that leaves trials/, or a folder symlinked elsewhere: not the job's
        return False


def check_trials(folder: JobFolder, state: JobState) -> None:
    """Refuse to read a job whose trial folders disagree with its records.

    Raises:
        BackendError: names the missing trials and points at ``hfst doctor``.
    """
    missing = missing_trials(folder, state)
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise BackendError(
            f"job {folder.name!r}: {len(missing)} launched trial(s) have no folder in {folder.trials_dir} "
            f"({shown}); the best trial cannot be trusted: {DOCTOR_HINT.format(path=folder.path)}"
        )


def launch_of(folder: JobFolder, record: TrialRecord) -> Launch:
    """The ``Launch`` a record was started with (to watch or judge it again)."""
    device = None if record.Device == "cpu" else record.Device
    return Launch(
        record.TrainingJobName,
        folder.trial_dir(record.TrainingJobName),
        dict(record.HyperParameters),
        cuda_devices=device,
        threads=record.Threads,
        processes=record.Processes,
    )


def outcome_on_disk(folder: JobFolder, request: TuningJobRequest, record: TrialRecord) -> Outcome | None:
    """How a trial that ran while no coordinator watched it ended, from ``exit.json`` and its log.

    ``None`` while its process still runs, or when it left no exit status (interrupted).
    """
    if record.Pid and _process.is_alive(record.Pid, record.PidStarted):
        return None
    if not (folder.trial_dir(record.TrainingJobName) / EXIT_FILE).is_file():
        return None
    ref = _process.ProcessRef(record.Pid or 0, record.PidStarted)
    return TrialRun.adopt(request, launch_of(folder, record), ref).exited()


def seen_now(folder: JobFolder, request: TuningJobRequest, record: TrialRecord) -> TrialRecord:
    """A running trial of a job whose coordinator is gone, as it is now (the file is not changed).

    Its process still runs: as recorded. It finished and left its exit status: that outcome.
    Otherwise: Stopped (Interrupted), to be re-run by a resume.
    """
    if record.TrainingJobStatus not in ("InProgress", "Stopping"):
        return record
    if record.TrainingJobStatus == "InProgress" and record.Pid and _process.is_alive(record.Pid, record.PidStarted):
        return record
    view = record.model_copy()
    outcome = outcome_on_disk(folder, request, record) if record.TrainingJobStatus == "InProgress" else None
    if outcome is None:
        view.TrainingJobStatus, view.StopReason = "Stopped", "Interrupted"
        view.Pid = view.PidStarted = None
        return view
    apply_outcome(view, outcome, ended_at(folder, record))
    return view


def ended_at(folder: JobFolder, record: TrialRecord) -> datetime | None:
    """When the trial's entry point exited, as its wrapper recorded it."""
    status = read_exit(folder.trial_dir(record.TrainingJobName))
    return status.ended if status is not None else None


def orphan_groups(folder: JobFolder) -> dict[int, list[_process.ProcessRef]]:
    """This job's trial processes that still run, by process group (see ``_process.find_by_environ``).

    A group whose leader descends from a process of another found group is folded into that
    group: torchrun starts each worker of a distributed trial in a session of its own, and
    those workers belong to their trial (watched, adopted or ended with it), not orphans.
    """
    if not folder.trials_dir.is_dir():
        return {}
    groups = _process.find_by_environ("SAGEMAKER_BASE_DIR", folder.trials_dir)
    owner = {member.pid: group for group, members in groups.items() for member in members}
    folded: dict[int, list[_process.ProcessRef]] = {}
    for group, members in groups.items():
        folded.setdefault(_root_group(group, owner), []).extend(members)
    return folded


def _root_group(group: int, owner: dict[int, int]) -> int:
    """The group ``group``'s leader descends from (itself when none of ``owner``'s processes is an ancestor)."""
    pid: int | None = group
    for _ in range(64):  # a chain of launchers is short; the bound guards against a pid-reuse loop
        pid = _process.parent_of(pid) if pid is not None else None
        if pid is None or pid <= 1:
            return group
        if owner.get(pid, group) != group:  # an ancestor in another group: a tree has no cycle
            return _root_group(owner[pid], owner)
    return group


def end_group(group: int, members: list[_process.ProcessRef], grace_seconds: float) -> None:
    """End one process group found by ``orphan_groups`` (every signal guarded by a start time)."""
    import signal

    leader = next((m for m in members if m.pid == group), None)
    if leader is not None:
        _process.terminate_group(group, leader.started, grace_seconds=grace_seconds)
    for member in members:
        _process.send_signal(member.pid, member.started, signal.SIGKILL)
