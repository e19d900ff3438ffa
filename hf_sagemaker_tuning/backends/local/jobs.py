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
"""

from __future__ import annotations

import json
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
        return self.trials_dir / trial

    def trial_records(self) -> list[TrialRecord]:
        """Every trial record (including superseded ones), oldest first.

        Raises:
            BackendError: a ``trial.json`` is invalid (names it, and ``hfst doctor``).
        """
        try:
            return _records(self.trials_dir)
        except BackendError as exc:
            raise BackendError(f"{exc}; `hfst doctor {self.path}` lists every problem of the job") from None

    def retrain_records(self) -> list[TrialRecord]:
        """Every training job started after tuning (``start_training``), oldest first."""
        return _records(self.retrain_dir)

    def write_trial(self, record: TrialRecord) -> None:
        write_model(self.trial_dir(record.TrainingJobName) / TRIAL_FILE, record)


def _records(folder: Path) -> list[TrialRecord]:
    if not folder.is_dir():
        return []
    records = [read_model(sub / TRIAL_FILE, TrialRecord) for sub in folder.iterdir() if (sub / TRIAL_FILE).is_file()]
    return sorted(records, key=lambda r: (r.Index, r.TrainingJobName))
