"""Which record of a trial's result is the authority, and every record that disagrees with it.

A local trial's result is written in three places:

* its output log (``trials/<trial>/log.txt``, with ``exit.json``: how its entry point exited),
* its ``trial.json`` (``TrainingJobStatus``, ``FinalObjectiveValue``),
* the job's ``study.db`` (optuna's trial: its state and value).

**The log is the authority.** It is what SageMaker itself reads: a trial's final objective is
the last value the objective metric's regex matched in the training job's output (the job's
``MetricDefinitions``, applied exactly as while the trial ran, see ``metrics.py``). The
coordinator writes ``trial.json`` and ``study.db`` from it, so both are copies, checked against
it: ``trial.json`` against the log (and ``exit.json``), ``study.db`` against ``trial.json``.

Readers (``describe`` / ``hfst status``, ``list_trials`` / results, and so the best trial) use a
finished trial's objective only when its records agree: a disagreement is a ``BackendError``
naming the trial, the files and both values (as a launched trial whose folder is gone is), never
a silently different best trial. ``hfst doctor`` lists every disagreement. A trial still running
is not judged (its records are written one after the other), nor one whose log is gone (nothing
contradicts its records; ``hfst doctor`` says the log is missing).
"""

from __future__ import annotations

import contextlib
import math
import sqlite3
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import BackendError
from .jobs import STUDY_FILE, TRIAL_FILE, JobFolder
from .metrics import MetricReader
from .trial import EXIT_FILE, read_exit

if TYPE_CHECKING:  # pragma: no cover
    from ...compile.request import TuningJobRequest
    from .state import TrialRecord

LOG_FILE = "log.txt"


@dataclass(frozen=True)
class StudyTrial:
    """One trial as ``study.db`` holds it: optuna's state name and its value (when it has one)."""

    state: str
    value: float | None


@dataclass(frozen=True)
class Disagreement:
    """One trial whose records disagree: which trial, and the sentence naming the files and values."""

    trial: str
    message: str


def same(a: float, b: float) -> bool:
    """Two records of one value agree (they are copies of one printed number; allow float noise only)."""
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def study_trials(folder: JobFolder, study_name: str) -> dict[int, StudyTrial] | None:
    """Every trial of the job's study by number, read-only; ``None`` when ``study.db`` can't be read now.

    Read with SQLite directly, not optuna: a reader must never write (optuna may create or
    migrate), and a study being written by the coordinator is skipped, not waited for.
    A damaged ``study.db`` is ``hfst doctor``'s to report (``recovery.study_problem``).
    """
    path = folder.path / STUDY_FILE
    if not path.is_file():
        return None
    query = (
        "SELECT t.number, t.state, v.value FROM trials t JOIN studies s ON s.study_id = t.study_id "
        "LEFT JOIN trial_values v ON v.trial_id = t.trial_id AND v.objective = 0 WHERE s.study_name = ?"
    )
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True, timeout=1.0)) as db:
            rows = db.execute(query, (study_name,)).fetchall()
    except sqlite3.Error:
        return None
    return {int(n): StudyTrial(str(state), None if value is None else float(value)) for n, state, value in rows}


@lru_cache(maxsize=4096)
def _last_objective(
    path: Path, size: int, mtime_ns: int, regexes: tuple[tuple[str, str], ...], metric: str
) -> float | None:
    # Keyed by the log's size and time: a finished trial's log is parsed once per process, not at every poll.
    import re

    reader = MetricReader(path=path, regexes={n: re.compile(r) for n, r in regexes}, objective=metric)
    reader.finish()
    return reader.final_objective


def log_objective(folder: JobFolder, request: TuningJobRequest, trial: str) -> tuple[bool, float | None]:
    """Whether the trial has a log, and the last objective value in it (read with the job's metric regexes)."""
    path = folder.trial_dir(trial) / LOG_FILE
    try:
        stat = path.stat()
    except OSError:
        return False, None
    defs = request.TrainingJobDefinition.AlgorithmSpecification.MetricDefinitions
    regexes = tuple((d.Name, d.Regex) for d in defs)
    return True, _last_objective(path, stat.st_size, stat.st_mtime_ns, regexes, request.objective_metric)


def _shown(value: float | None) -> str:
    return "none" if value is None else f"{value:g}"


def _study_says(entry: StudyTrial | None) -> str:
    if entry is None:
        return ""
    value = f", {entry.value:g}" if entry.value is not None else ""
    return f", and study.db says {entry.state}{value}"


def check_record(
    folder: JobFolder,
    request: TuningJobRequest,
    record: TrialRecord,
    study: dict[int, StudyTrial] | None,
) -> list[str]:
    """Every way a finished trial's ``trial.json`` disagrees with its log, ``exit.json`` or ``study.db``."""
    if record.Superseded or record.TrainingJobStatus in ("InProgress", "Stopping"):
        return []
    name, metric, status = record.TrainingJobName, request.objective_metric, record.TrainingJobStatus
    json_file = f"trials/{name}/{TRIAL_FILE}"
    entry = study.get(record.TrialNumber) if study is not None and record.TrialNumber is not None else None
    has_log, logged = log_objective(folder, request, name)
    value = record.FinalObjectiveValue
    if status == "Completed" and value is not None:
        if has_log and (logged is None or not same(logged, value)):
            return [
                f"trial {name}: {json_file} FinalObjectiveValue {value:g} but its log's last {metric} is "
                f"{_shown(logged)}{_study_says(entry)}"
            ]
        if entry is not None and entry.state in ("FAIL", "PRUNED"):
            return [f"trial {name}: {json_file} says Completed, {value:g} but study.db says {entry.state}"]
        if entry is not None and entry.value is not None and not same(entry.value, value):
            return [f"trial {name}: {json_file} FinalObjectiveValue {value:g} but study.db says {entry.value:g}"]
        return []
    if status == "Failed" and has_log and logged is not None and math.isfinite(logged):
        ended = read_exit(folder.trial_dir(name))
        over_time = (record.FailureReason or "").startswith("MaxRuntimeExceeded")  # killed, whatever it printed
        if ended is not None and ended.code == 0 and not over_time:
            return [
                f"trial {name}: {json_file} says Failed but trials/{name}/{EXIT_FILE} says its entry point exited 0 "
                f"and its log's last {metric} is {logged:g} (it completed){_study_says(entry)}"
            ]
    if entry is not None and entry.state == "COMPLETE" and entry.value is not None:
        return [f"trial {name}: {json_file} says {status} but study.db says COMPLETE, {entry.value:g}"]
    return []


def disagreements(folder: JobFolder, request: TuningJobRequest, records: list[TrialRecord]) -> list[Disagreement]:
    """Every finished trial among ``records`` whose records disagree (see the module's rule)."""
    study = study_trials(folder, request.job_name)
    found: list[Disagreement] = []
    for record in records:
        found.extend(Disagreement(record.TrainingJobName, m) for m in check_record(folder, request, record, study))
    return found


def check_agreement(folder: JobFolder, request: TuningJobRequest, records: list[TrialRecord]) -> None:
    """Refuse to read results whose records disagree.

    Raises:
        BackendError: names the first disagreeing trial, its files and both values, and ``hfst doctor``.
    """
    found = disagreements(folder, request, records)
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise BackendError(
            f"job {folder.name!r}: {found[0].message}{more}; the best trial cannot be trusted: "
            f"run `hfst doctor {folder.path}` to see every disagreement"
        )


def log_missing(folder: JobFolder, record: TrialRecord) -> bool:
    """A completed trial whose log is gone: its objective can't be checked against the authority."""
    return (
        record.TrainingJobStatus == "Completed"
        and record.FinalObjectiveValue is not None
        and not Path(folder.trial_dir(record.TrainingJobName) / LOG_FILE).is_file()
    )
