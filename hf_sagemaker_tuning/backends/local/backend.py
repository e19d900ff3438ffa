"""``LocalBackend``: runs a compiled tuning job on this machine, the embedded default."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from ...compile.request import TuningJobRequest
from ...errors import BackendError
from ..base import Backend
from . import status
from .coordinator import Coordinator, Options
from .jobs import JobFolder, iso, now, write_json

#: Coordinators this process started, kept so they are reaped (no zombies, no ResourceWarning).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def _reap() -> None:
    for pid, child in list(_CHILDREN.items()):
        if child.poll() is not None:
            del _CHILDREN[pid]


class LocalBackend(Backend):
    """Trials run here as subprocesses under the SageMaker training-container contract.

    Args:
        root: folder that holds one sub-folder per job (default ``./jobs``).
        trials_per_gpu: pack this many trials on each GPU (small models: 4 trials on one
            GPU train ~4x the samples/s of one).
        gpus: GPU ids to use (default: all visible).
        max_failed_trials: the failure budget (default ``max(3, max_jobs // 2)``).
        python: the interpreter that runs trials (default: this one).
    """

    name = "local"

    def __init__(
        self,
        root: str | os.PathLike[str] = "jobs",
        *,
        trials_per_gpu: int = 1,
        gpus: list[str] | None = None,
        max_failed_trials: int | None = None,
        python: str = sys.executable,
        poll_seconds: float = 0.2,
        grace_seconds: float = 10.0,
    ):
        if trials_per_gpu < 1:
            raise BackendError(f"trials_per_gpu must be >= 1, got {trials_per_gpu}")
        self.root = Path(root)
        self.options = Options(
            python=python,
            trials_per_gpu=trials_per_gpu,
            gpus=gpus,
            max_failed_trials=max_failed_trials,
            poll_seconds=poll_seconds,
            grace_seconds=grace_seconds,
        )

    def folder(self, job: str | os.PathLike[str]) -> JobFolder:
        """A job by name (under ``root``) or by path."""
        path = Path(job)
        if not (path / "request.json").is_file():
            path = self.root / str(job)
        folder = JobFolder(path)
        if not folder.exists():
            raise BackendError(f"no local tuning job {str(job)!r} (looked in {path})")
        return folder

    def create(self, request: TuningJobRequest) -> JobFolder:
        """Write a new job folder for ``request`` (refuses to overwrite an existing job)."""
        folder = JobFolder(self.root / request.job_name)
        if folder.exists():
            raise BackendError(f"tuning job {request.job_name!r} already exists in {folder.path}; use resume")
        folder.path.mkdir(parents=True, exist_ok=True)
        write_json(folder.request_file, request.to_api())
        folder.write_state(
            {
                "HyperParameterTuningJobStatus": "InProgress",
                "CreationTime": iso(now()),
                "Options": self.options.to_json(),
            }
        )
        return folder

    def run(self, request: TuningJobRequest) -> dict[str, Any]:
        """Create the job and run it in this process until it ends; return ``describe``."""
        folder = self.create(request)
        Coordinator(folder, self.options).run()
        return self.describe(str(folder.path))

    def resume(self, job: str | os.PathLike[str], *, background: bool = False) -> str:
        """Continue a stopped or crashed job: finished trials are kept, unfinished ones re-run."""
        folder = self.folder(job)
        state = folder.state()
        if status.coordinator_alive(state.get("CoordinatorPid")) and state.get("HyperParameterTuningJobStatus") in (
            "InProgress",
            "Stopping",
        ):
            raise BackendError(
                f"tuning job {folder.name!r} is still running (coordinator pid {state['CoordinatorPid']})"
            )
        options = Options.from_json(state.get("Options", {})) if state.get("Options") else self.options
        if background:
            self._spawn(folder)
        else:
            Coordinator(folder, options).run()
        return folder.name

    def _spawn(self, folder: JobFolder) -> None:
        out = (folder.path / "coordinator.out").open("ab")
        try:
            process = subprocess.Popen(
                [self.options.python, "-m", "hf_sagemaker_tuning.backends.local.coordinator", str(folder.path)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
            )
        finally:
            out.close()
        _reap()
        _CHILDREN[process.pid] = process
        state = folder.state()
        # Until the coordinator writes its own state, readers see the job running under this pid.
        state.update(CoordinatorPid=process.pid, HyperParameterTuningJobStatus="InProgress")
        folder.write_state(state)

    # -- the Backend hooks
    def _submit(self, request: TuningJobRequest) -> str:
        folder = self.create(request)
        self._spawn(folder)
        return request.job_name

    def _describe(self, job: str) -> dict[str, Any]:
        _reap()
        return status.describe(self.folder(job))

    def _list_trials(self, job: str) -> list[dict[str, Any]]:
        return status.list_trials(self.folder(job))

    def _stop(self, job: str) -> None:
        folder = self.folder(job)
        folder.stop_file.touch()
        pid = folder.state().get("CoordinatorPid")
        if pid and status.coordinator_alive(pid):
            with contextlib.suppress(ProcessLookupError):  # raced with its exit
                os.kill(int(pid), signal.SIGTERM)

    def _logs(self, job: str, trial: str) -> str:
        log = self.folder(job).trial_dir(trial) / "log.txt"
        if not log.is_file():
            raise BackendError(f"trial {trial!r} of job {job!r} has no log")
        return log.read_text(encoding="utf-8", errors="replace")

    def metrics(self, job: str, trial: str) -> dict[str, list[float]]:
        """Every metric value a trial emitted, in order (learning curves)."""
        for record in self.folder(job).trial_records():
            if record["TrainingJobName"] == trial:
                return {k: list(v) for k, v in record.get("Metrics", {}).items()}
        raise BackendError(f"job {job!r} has no trial {trial!r}")
