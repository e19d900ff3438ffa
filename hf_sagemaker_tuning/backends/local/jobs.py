"""The local job folder: where everything about one tuning job lives, and how it is read.

```
<root>/<job name>/
  request.json          the compiled CreateHyperParameterTuningJob request (what runs)
  spec.yaml             the spec the job was submitted with, when one was given
  job.json              JobState: status, times, completion/failure reason, resumability, coordinator
  study.db              optuna's RDB storage (SQLite): the search state
  coordinator.lock      held (flock) by the one coordinator of the job; names it (see lock.py)
  coordinator.log       what the coordinator did (coordinator.out: its raw output when detached)
  STOP                  present when a stop was requested
  trials/<trial name>/  one SageMaker-shaped folder per trial (see trial.py), with trial.json (TrialRecord)
  retrain/<run name>/   the same for each training job started after tuning (start_training)
```
Every file is written atomically (temporary file + rename), so a reader or a crash never
sees half a file; every state file is validated when read (see state.py).

Every path built from a name (a job under the jobs folder, a trial under ``trials/``, a run
under ``retrain/``) goes through ``inside``: the name must be one plain path component and the
path, symlinks resolved, must stay inside its folder. A job or trial folder that is a symlink
pointing elsewhere is refused, not followed (the jobs folder itself may be a symlink: put the
whole jobs folder on another disk, not one job). A trial folder whose ``trial.json`` names
another trial (a copy) is not one of the job's trials: readers skip it, ``hfst doctor`` names it.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from ...compile.request import TuningJobRequest
from ...errors import BackendError
from .state import JobState, TrialRecord, read_model, write_model, write_text

REQUEST_FILE = "request.json"
SPEC_FILE = "spec.yaml"
JOB_FILE = "job.json"
TRIAL_FILE = "trial.json"
STUDY_FILE = "study.db"
STOP_FILE = "STOP"
LOG_FILE = "coordinator.log"


#: What a single folder name may not hold (a separator would make it a path; NUL ends it).
_NOT_IN_NAMES = tuple({"/", "\0", os.sep, os.altsep or "/"})


def inside(root: Path, *names: str, what: str = "name") -> Path:
    """``root / names...``, refused unless it stays inside ``root`` (the one check for every such path).

    Args:
        root: the folder the path must stay in (it may itself be a symlink; it need not exist).
        names: plain path components (a job name, ``"trials"`` and a trial name...).
        what: what the names are, for the message (``"job name"``, ``"trial name"``).

    Raises:
        BackendError: a name is empty, ``.`` or ``..``, holds a path separator or a NUL, or the
            path leaves ``root`` through a symlink; names the name, the folder and the rule.
    """
    path = root
    for name in names:
        text = str(name)
        if text in ("", ".", "..") or any(bad in text for bad in _NOT_IN_NAMES):
            raise BackendError(
                f"{what} {text!r} would leave {root}: a {what} is one folder name (no '/', not '.' or '..')"
            )
        path = path / text
    base = root.resolve()
    resolved = path.resolve()
    if resolved != base and not resolved.is_relative_to(base):
        raise BackendError(
            f"{what} {'/'.join(names)!r}: {path} is a symlink to {resolved}, outside {base}; "
            "a job or trial folder must be a real folder inside the jobs folder"
        )
    return path


def now() -> datetime:
    return datetime.now(timezone.utc)


def write_json(path: Path, data: object) -> None:
    """Write ``data`` as JSON atomically."""
    write_text(path, json.dumps(data, indent=2, default=str))


class JobFolder:
    """Paths and records of one local tuning job."""

    def __init__(self, path: Path):
        self.path = path

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def request_file(self) -> Path:
        return self.path / REQUEST_FILE

    @property
    def spec_file(self) -> Path:
        return self.path / SPEC_FILE

    @property
    def job_file(self) -> Path:
        return self.path / JOB_FILE

    @property
    def trials_dir(self) -> Path:
        return self.path / "trials"

    @property
    def retrain_dir(self) -> Path:
        return self.path / "retrain"

    @property
    def stop_file(self) -> Path:
        return self.path / STOP_FILE

    @property
    def log_file(self) -> Path:
        return self.path / LOG_FILE

    @property
    def storage_url(self) -> str:
        return f"sqlite:///{(self.path / STUDY_FILE).resolve()}"

    def exists(self) -> bool:
        return self.request_file.is_file()

    def request(self) -> TuningJobRequest:
        if not self.exists():
            raise BackendError(f"{self.path} is not a local tuning job folder (no {REQUEST_FILE})")
        try:
            return TuningJobRequest.from_api(json.loads(self.request_file.read_text(encoding="utf-8")))
        except (ValueError, OSError) as exc:  # pydantic's ValidationError is a ValueError
            first = str(exc).splitlines()[0]
            raise BackendError(f"{self.request_file} is not a compiled tuning-job request: {first}") from None

    def state(self) -> JobState:
        """``job.json``, validated (``BackendError`` naming the file when it is missing or invalid)."""
        if not self.job_file.is_file():
            raise BackendError(f"{self.path} has no {JOB_FILE}; the job was never started")
        return read_model(self.job_file, JobState)

    def write_state(self, state: JobState) -> None:
        write_model(self.job_file, state)

    def trial_dir(self, trial: str) -> Path:
        """``trials/<trial>`` (``BackendError`` when the name would leave the job folder)."""
        return inside(self.path, "trials", trial, what="trial name")

    def run_dir(self, run: str) -> Path:
        """``retrain/<run>`` (``BackendError`` when the name would leave the job folder)."""
        return inside(self.path, "retrain", run, what="training job name")

    def trial_records(self) -> list[TrialRecord]:
        """Every trial record (including superseded ones), oldest first; foreign folders are skipped.

        Raises:
            BackendError: a ``trial.json`` is invalid (names it, and ``hfst doctor``).
        """
        try:
            return trial_folders(self, "trials", self._listed())[0]
        except BackendError as exc:
            raise BackendError(f"{exc}; `hfst doctor {self.path}` lists every problem of the job") from None

    def _listed(self) -> set[str] | None:
        """The trials ``job.json`` lists (``None``: not kept, or ``job.json`` is unreadable: doctor's to say)."""
        try:
            listed = self.state().Trials if self.job_file.is_file() else None
        except BackendError:
            return None
        return None if listed is None else set(listed)

    def retrain_records(self) -> list[TrialRecord]:
        """Every training job started after tuning (``start_training``), oldest first."""
        return trial_folders(self, "retrain")[0]

    def write_trial(self, record: TrialRecord) -> None:
        write_model(self.trial_dir(record.TrainingJobName) / TRIAL_FILE, record)


def trial_folders(
    folder: JobFolder, kind: str = "trials", listed: set[str] | None = None
) -> tuple[list[TrialRecord], list[str]]:
    """The records of ``<job>/<kind>/*/trial.json`` (oldest first), and why each foreign folder is not one.

    A folder is foreign when it is a symlink leading out of the job folder, its ``trial.json``
    names another trial (a copied folder), or (given ``listed``, the trials ``job.json`` says
    were launched) it holds a finished trial that was never launched: counting it would count a
    trial twice or someone else's. An unlisted trial still marked running is the job's own: a
    coordinator stopped between writing its ``trial.json`` and ``job.json`` (resume records it).

    Raises:
        BackendError: a ``trial.json`` is invalid (names the file).
    """
    parent = folder.path / kind
    if not parent.is_dir():
        return [], []
    records: list[TrialRecord] = []
    foreign: list[str] = []
    for sub in sorted(parent.iterdir()):
        if not (sub / TRIAL_FILE).is_file():
            continue
        try:
            inside(folder.path, kind, sub.name, what="trial name")
        except BackendError:
            foreign.append(f"{sub} is a symlink to {sub.resolve()}, outside the job folder; it is not counted")
            continue
        record = read_model(sub / TRIAL_FILE, TrialRecord)
        if record.TrainingJobName != sub.name:
            foreign.append(
                f"{sub / TRIAL_FILE} names the trial {record.TrainingJobName!r}, not its folder's name "
                f"{sub.name!r} (a copied folder?); it is not counted"
            )
            continue
        if listed is not None and record.TrainingJobName not in listed and not record.unfinished:
            foreign.append(
                f"{sub} holds a {record.TrainingJobStatus} trial that job.json's Trials never listed "
                "(a copied or foreign folder?); it is not counted"
            )
            continue
        records.append(record)
    return sorted(records, key=lambda r: (r.Index, r.TrainingJobName)), foreign
