"""Typed local state: ``job.json`` (``JobState``) and ``trial.json`` (``TrialRecord``).

Both files are pydantic models, validated every time they are read: a file that is not
JSON, or holds a field of the wrong kind, raises ``BackendError`` naming the file and
what is wrong, never a bare traceback. Field names follow SageMaker's spelling where
SageMaker has the field. Every file is written atomically (temporary file + rename).
"""

from __future__ import annotations

import os
import sys
import tempfile
from enum import Enum
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from ...errors import BackendError

JobStatus = Literal["InProgress", "Stopping", "Completed", "Failed", "Stopped"]
TrialStatus = Literal["InProgress", "Stopping", "Completed", "Failed", "Stopped"]
ObjectiveStatus = Literal["Pending", "Succeeded", "Failed"]


class Resumability(str, Enum):
    """Whether ``resume`` may continue a job, and why."""

    #: Running, or ended for good (completed, failed, out of runtime).
    NOT_RESUMABLE = "NotResumable"
    #: Stopped by ``stop`` / ``hfst stop``, SIGTERM or Ctrl-C: the coordinator ended cleanly.
    STOPPED_BY_REQUEST = "StoppedByRequest"
    #: The coordinator died (SIGKILL, a crash, a reboot) while the job ran: ``describe`` reports
    #: it when the recorded coordinator is gone; a coordinator that fails with an error and
    #: ``hfst doctor --repair`` write it.
    INTERRUPTED = "Interrupted"


class _State(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, ser_json_inf_nan="constants")


class LocalOptions(_State):
    """Settings of the local backend that SageMaker has no field for (kept in ``job.json``)."""

    python: str = sys.executable
    trials_per_gpu: int = Field(1, ge=1)
    #: GPUs per trial under torchrun (``None``: one GPU, no torchrun); CPU runs use ``processes_per_trial``.
    gpus_per_trial: int | None = Field(None, ge=1)
    processes_per_trial: int = Field(1, ge=1)
    gpus: list[str] | None = None
    max_failed_trials: int | None = Field(None, ge=0)
    poll_seconds: float = Field(0.2, gt=0)
    grace_seconds: float = Field(10.0, ge=0)


class JobState(_State):
    """``job.json``: the job's status as its coordinator last wrote it."""

    HyperParameterTuningJobStatus: JobStatus = "InProgress"
    CreationTime: AwareDatetime | None = None
    LastModifiedTime: AwareDatetime | None = None
    HyperParameterTuningEndTime: AwareDatetime | None = None
    FailureReason: str | None = None
    CompletionReason: str | None = None
    Resumability: Resumability = Resumability.NOT_RESUMABLE
    CoordinatorPid: int | None = None
    CoordinatorStarted: int | None = None
    ConsumedRuntimeSeconds: float = Field(0.0, ge=0)
    Options: LocalOptions = Field(default_factory=LocalOptions)
    #: Every trial the coordinator launched (superseded ones included), in launch order; readers
    #: compare it with the trial folders. ``None`` in a job written before it was kept.
    Trials: list[str] | None = None


class TrialRecord(_State):
    """``trial.json``: one trial (or retrain run), its process and its results."""

    TrainingJobName: str
    Index: int = Field(ge=0)
    TrialNumber: int | None = None
    TunedHyperParameters: dict[str, str] = Field(default_factory=dict)
    HyperParameters: dict[str, str] = Field(default_factory=dict)
    TrainingJobStatus: TrialStatus = "InProgress"
    ObjectiveStatus: ObjectiveStatus = "Pending"
    CreationTime: AwareDatetime | None = None
    TrainingStartTime: AwareDatetime | None = None
    TrainingEndTime: AwareDatetime | None = None
    FailureReason: str | None = None
    StopReason: str | None = None
    FinalObjectiveValue: float | None = Field(None, allow_inf_nan=False)
    Metrics: dict[str, list[float]] = Field(default_factory=dict)
    Device: str = "cpu"
    Threads: int | None = None
    #: Processes of the trial: more than one runs the entry point under torchrun.
    Processes: int = Field(1, ge=1)
    Pid: int | None = None
    PidStarted: int | None = None
    Superseded: bool = False
    #: Set with ``Stopping``: the status the coordinator is ending the trial with (``Completed``:
    #: a Hyperband trial at its maximum resource; ``Stopped``: early stopping or a completion
    #: rule). A resume finishes such a trial from its log rather than re-running it; ``None``
    #: (an interrupted trial) is re-run.
    EndingAs: Literal["Completed", "Stopped"] | None = None

    @property
    def unfinished(self) -> bool:
        """Still marked running, or stopped because its coordinator went away: re-run on resume."""
        return self.TrainingJobStatus in ("InProgress", "Stopping") or self.StopReason == "Interrupted"


Model = TypeVar("Model", bound=BaseModel)


def read_model(path: Path, model: type[Model]) -> Model:
    """Read and validate a state file.

    Raises:
        BackendError: the file is missing, unreadable, not JSON or not a valid ``model``; the
            message names the file and the first problem.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BackendError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return model.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(the whole file)"
        raise BackendError(
            f"{path} is not a valid {model.__name__}: {where}: {first['msg']} ({exc.error_count()} problem(s)); "
            "fix or delete the file"
        ) from None


def write_model(path: Path, state: BaseModel) -> None:
    """Write a state file atomically (same-folder temporary file, fsync, rename)."""
    write_text(path, state.model_dump_json(indent=2))


def write_text(path: Path, text: str) -> None:
    """Write ``text`` atomically (same-folder temporary file, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
