"""The local job folder: where everything about one tuning job lives, and how it is read.

```
<root>/<job name>/
  request.json          the compiled CreateHyperParameterTuningJob request (what runs)
  job.json              status, times, completion/failure reason, coordinator pid
  study.db              optuna's RDB storage (SQLite): the search state
  coordinator.log       what the coordinator did
  STOP                  present when a stop was requested
  trials/<trial name>/  one SageMaker-shaped folder per trial (see trial.py), with trial.json
```
Every JSON file is written atomically (temporary file + rename), so a reader or a
crash never sees half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ...compile.request import TuningJobRequest
from ...errors import BackendError

REQUEST_FILE = "request.json"
JOB_FILE = "job.json"
TRIAL_FILE = "trial.json"
STUDY_FILE = "study.db"
STOP_FILE = "STOP"
LOG_FILE = "coordinator.log"


def now() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def parse_time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON atomically (same-folder temporary file, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, default=str)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


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
    def job_file(self) -> Path:
        return self.path / JOB_FILE

    @property
    def trials_dir(self) -> Path:
        return self.path / "trials"

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
            return TuningJobRequest.from_api(read_json(self.request_file))
        except (ValueError, OSError) as exc:  # pydantic's ValidationError is a ValueError
            first = str(exc).splitlines()[0]
            raise BackendError(f"{self.request_file} is not a compiled tuning-job request: {first}") from None

    def state(self) -> dict[str, Any]:
        if not self.job_file.is_file():
            raise BackendError(f"{self.path} has no {JOB_FILE}; the job was never started")
        data: dict[str, Any] = read_json(self.job_file)
        return data

    def write_state(self, state: dict[str, Any]) -> None:
        write_json(self.job_file, state)

    def trial_dir(self, trial: str) -> Path:
        return self.trials_dir / trial

    def trial_records(self) -> list[dict[str, Any]]:
        """Every trial record (including superseded ones), oldest first."""
        if not self.trials_dir.is_dir():
            return []
        records = []
        for folder in self.trials_dir.iterdir():
            file = folder / TRIAL_FILE
            if file.is_file():
                records.append(read_json(file))
        return sorted(records, key=lambda r: (r.get("Index", 0), r["TrainingJobName"]))

    def write_trial(self, record: dict[str, Any]) -> None:
        write_json(self.trial_dir(record["TrainingJobName"]) / TRIAL_FILE, record)


def best_model_dir(job_dir: str | os.PathLike[str]) -> Path:
    """The model folder of the best completed trial of a local tuning job.

    Raises:
        BackendError: not a job folder, or no trial completed with an objective value.
    """
    folder = JobFolder(Path(job_dir))
    request = folder.request()
    maximize = request.maximize
    done = [
        r
        for r in folder.trial_records()
        if r.get("TrainingJobStatus") == "Completed" and r.get("FinalObjectiveValue") is not None
    ]
    if not done:
        raise BackendError(f"tuning job {folder.name!r} has no completed trial with an objective value yet")
    best = max(done, key=lambda r: r["FinalObjectiveValue"] if maximize else -r["FinalObjectiveValue"])
    model = folder.trial_dir(best["TrainingJobName"]) / "model"
    if not (model / "config.json").is_file():
        raise BackendError(f"the best trial {best['TrainingJobName']!r} left no model in {model}")
    return model
