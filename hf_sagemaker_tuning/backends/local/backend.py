"""``LocalBackend``: runs a compiled tuning job on this machine, the embedded default."""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ... import _process
from ...compile.naming import job_name_problem
from ...errors import BackendError
from ...trials import Trial
from ..base import Backend, ModelArtifact
from .coordinator import Coordinator
from .jobs import JobFolder, inside, now
from .launch import spawn_coordinator
from .lock import JobBusyError, JobLock
from .recovery import check_trials, ensure_study
from .runner import MetricCallback
from .state import JobState, LocalOptions, Resumability
from .status import coordinator_alive, describe, effective, list_trials
from .training import best_model, describe_training, start_training, training_record, trial_artifact
from .trial import local_path

if TYPE_CHECKING:  # pragma: no cover
    from ...compile.request import TuningJobRequest
    from ...specs import TuningJobSpec

log = logging.getLogger("hf_sagemaker_tuning.local")
#: The job folder's sub-folder of kept evaluations (``save_evaluation``).
EVALUATIONS = "evaluations"


class LocalBackend(Backend):
    """Trials run here as subprocesses under the SageMaker training-container contract.

    Args:
        root: folder that holds one sub-folder per job (default ``./jobs``).
        trials_per_gpu: pack this many trials on each GPU (small models: 4 trials on one
            GPU train ~4x the samples/s of one).
        gpus_per_trial: GPUs each trial trains on (more than one: under torchrun, data-parallel).
        processes_per_trial: CPU only: processes each trial trains with (more than one: torchrun, gloo).
        gpus: GPU ids to use (default: all visible).

    ``trials_per_gpu``, ``gpus_per_trial``, ``processes_per_trial`` and ``gpus`` left at ``None``
    take the job spec's ``local:`` section, else their defaults (1, one GPU, 1, every visible GPU):
    an argument given here (a ``hfst tune`` flag) always wins over the spec.
        max_failed_trials: the failure budget (default ``max(3, max_jobs // 2)``).
        python: the interpreter that runs trials (default: this one).
        poll_seconds: how often the coordinator polls its trials.
        grace_seconds: how long a stopped trial gets between SIGTERM and SIGKILL.
        on_metric: called with ``(metric, value)`` for every metric line a ``start_training``
            run prints (e.g. to show a retrain's progress).
    """

    name = "local"

    def __init__(
        self,
        root: str | os.PathLike[str] = "jobs",
        *,
        trials_per_gpu: int | None = None,
        gpus_per_trial: int | None = None,
        processes_per_trial: int | None = None,
        gpus: list[str] | None = None,
        max_failed_trials: int | None = None,
        python: str = sys.executable,
        poll_seconds: float = 0.2,
        grace_seconds: float = 10.0,
        on_metric: MetricCallback | None = None,
    ):
        #: The placement arguments given here (they override the spec's ``local:`` section).
        self.placement: dict[str, Any] = {
            name: value
            for name, value in (
                ("trials_per_gpu", trials_per_gpu),
                ("gpus_per_trial", gpus_per_trial),
                ("processes_per_trial", processes_per_trial),
                ("gpus", gpus),
            )
            if value is not None
        }
        for name, value in self.placement.items():
            if name != "gpus" and value < 1:
                raise BackendError(f"{name} must be >= 1, got {value}")
        self.root = Path(root)
        self._base = {
            "python": python,
            "max_failed_trials": max_failed_trials,
            "poll_seconds": poll_seconds,
            "grace_seconds": grace_seconds,
        }
        self.options = self.options_for(None)
        self.on_metric = on_metric

    def folder(self, job: str | os.PathLike[str]) -> JobFolder:
        """A job by name (under ``root``; a name that would leave it is refused) or by path."""
        path = Path(job)
        is_path = path.is_absolute() or any(sep in str(job) for sep in (os.sep, "/"))
        if not (path / "request.json").is_file() and not is_path:
            path = inside(self.root, str(job), what="job name")
        folder = JobFolder(path)
        if not folder.exists():
            raise BackendError(f"no local tuning job {str(job)!r} (looked in {path})")
        return folder

    def options_for(self, spec: TuningJobSpec | None) -> LocalOptions:
        """This backend's options for a job of ``spec``: arguments given here, else the spec's ``local:``
        section, else the defaults.

        Raises:
            BackendError: the merged placement asks for both ``gpus_per_trial`` and ``trials_per_gpu`` above 1.
        """
        placement = dict(spec.local.options()) if spec is not None and spec.local is not None else {}
        placement.update(self.placement)
        options = LocalOptions(**self._base, **placement)
        if (options.gpus_per_trial or 1) > 1 and options.trials_per_gpu > 1:
            raise BackendError(
                f"gpus_per_trial {options.gpus_per_trial} and trials_per_gpu {options.trials_per_gpu} cannot both be "
                "above 1: a distributed trial has its GPUs to itself"
            )
        return options

    def check_writable(self) -> None:
        """Make sure a job folder can be written under ``root`` (``tune`` asks before preparing data).

        Raises:
            BackendError: ``root`` cannot be created or written (read-only, full, or a file); one line naming it.
        """
        import tempfile

        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.root):
                pass
        except OSError as exc:
            raise BackendError(
                f"cannot write in the jobs folder {self.root}: {exc.strerror or exc} (choose another with --jobs-dir)"
            ) from None

    def create(self, request: TuningJobRequest, spec: TuningJobSpec | None = None) -> JobFolder:
        """Write a new job folder for ``request`` (refuses to overwrite an existing job)."""
        from .jobs import write_json
        from .state import write_text

        problem = job_name_problem(request.job_name)
        if problem is not None:
            raise BackendError(f"HyperParameterTuningJobName: {problem}")
        folder = JobFolder(inside(self.root, request.job_name, what="job name"))
        if folder.exists():
            raise BackendError(f"tuning job {request.job_name!r} already exists in {folder.path}; use resume")
        try:
            folder.path.mkdir(parents=True, exist_ok=True)
            write_json(folder.request_file, request.to_api())
            if spec is not None:
                from ...specs import dump_yaml

                write_text(folder.spec_file, dump_yaml(spec))
            folder.write_state(JobState(CreationTime=now(), Options=self.options_for(spec)))
        except OSError as exc:  # a read-only or full jobs folder: one line naming it
            raise BackendError(
                f"cannot create the job folder {folder.path}: {exc.strerror or exc}; "
                f"check that the jobs folder {self.root} is writable (or choose another with --jobs-dir)"
            ) from None
        return folder

    def run(self, request: TuningJobRequest, spec: TuningJobSpec | None = None) -> dict[str, Any]:
        """Create the job and run it in this process until it ends; return ``describe``."""
        folder = self.create(request, spec)
        Coordinator(folder, folder.state().Options, backend=self).run()
        return self.describe(str(folder.path))

    def resume(self, job: str | os.PathLike[str], *, background: bool = True) -> str:
        """Continue a stopped or crashed job: finished trials are kept, unfinished ones re-run.

        Trials that finished or still run after a crash are adopted. The job's files are
        checked first: a damaged ``study.db`` is rebuilt from the trial folders (the damaged
        file is kept as ``study.db.corrupt``), and a job whose folders cannot be trusted is
        refused before any coordinator starts. One coordinator per job: the job's lock is
        taken before anything is read (``lock.py``). A job that ended for good (Completed,
        Failed, out of runtime) has nothing to resume: it is left as it is.

        Args:
            job: the job's name or folder.
            background: continue in a detached coordinator and return at once (the default,
                as ``Backend.resume`` promises); ``False`` runs it here until it ends.

        Raises:
            JobBusyError: another process runs the job, or is resuming it (names its pid).
        """
        folder = self.folder(job)
        with JobLock.acquire(folder.path) as lock:
            state = folder.state()
            if state.HyperParameterTuningJobStatus in ("InProgress", "Stopping") and coordinator_alive(
                state.CoordinatorPid, state.CoordinatorStarted
            ):  # a coordinator another resume started, about to take the lock
                raise JobBusyError(
                    f"tuning job {folder.name!r} is still running (coordinator pid {state.CoordinatorPid})",
                    state.CoordinatorPid,
                )
            done = finished(state, folder.name)
            if done is not None:
                log.info("%s", done)
                return folder.name
            check_trials(folder, state)
            repaired = ensure_study(folder, folder.request())
            if repaired:
                log.warning("%s", repaired)
            if background:
                self._spawn(folder)
            else:
                Coordinator(folder, state.Options, backend=self).run(lock)
        return folder.name

    def _spawn(self, folder: JobFolder) -> None:
        """Start a detached coordinator; the caller holds the job's lock, which the coordinator
        waits for (so this process's write of job.json is never mixed with the coordinator's)."""
        state = folder.state()
        coordinator = spawn_coordinator(state.Options.python, folder.path)
        # Until the coordinator writes its own state, readers see the job running under this pid.
        state = folder.state()
        state.CoordinatorPid, state.CoordinatorStarted = coordinator.pid, coordinator.started
        state.HyperParameterTuningJobStatus = "InProgress"
        folder.write_state(state)

    # -- the Backend hooks
    def _submit(self, request: TuningJobRequest, spec: TuningJobSpec | None) -> str:
        folder = self.create(request, spec)
        with JobLock.acquire(folder.path):
            self._spawn(folder)
        return request.job_name

    def _describe(self, job: str) -> dict[str, Any]:
        return describe(self.folder(job))

    def job_name(self, job: str) -> str:
        """The job folder's name (``job`` may be the folder's path)."""
        return Path(job).name

    def _list_trials(self, job: str) -> list[Trial]:
        return list_trials(self.folder(job))

    def _stop(self, job: str) -> None:
        folder = self.folder(job)
        folder.stop_file.touch()
        state = folder.state()
        _process.send_signal(state.CoordinatorPid, state.CoordinatorStarted, signal.SIGTERM)

    def _logs(self, job: str, trial: str) -> str:
        folder = self.folder(job)
        log = folder.trial_dir(trial) / "log.txt"
        if not log.is_file():
            log = folder.run_dir(trial) / "log.txt"
        if not log.is_file():
            raise BackendError(f"trial {trial!r} of job {job!r} has no log")
        return log.read_text(encoding="utf-8", errors="replace")

    def finished(self, job: str) -> str | None:
        """Why the job has nothing to resume ("job X already Completed: nothing to resume"), or ``None``."""
        folder = self.folder(job)
        return finished(folder.state(), folder.name)

    def _resume(self, job: str) -> str:
        return self.resume(job, background=True)

    def _metric_history(self, job: str, trial: str) -> dict[str, list[float]]:
        record, _ = training_record(self.folder(job), trial)
        return {k: list(v) for k, v in record.Metrics.items()}

    def _spec(self, job: str) -> TuningJobSpec | None:
        folder = self.folder(job)
        if not folder.spec_file.is_file():
            return None
        from ...specs import load_job_spec

        return load_job_spec(folder.spec_file)

    def _best_model(self, job: str) -> ModelArtifact:
        return best_model(self.folder(job))

    def _start_training(
        self, job: str, hyperparameters: dict[str, str], name: str | None, channels: dict[str, str] | None = None
    ) -> str:
        folder = self.folder(job)
        return start_training(folder, hyperparameters, name, folder.state().Options, self.on_metric, channels)

    def _describe_training(self, job: str, training_job: str) -> dict[str, Any]:
        return describe_training(self.folder(job), training_job)

    def _trial_artifact(self, job: str | None, trial: str) -> ModelArtifact:
        if job is None:
            raise BackendError(f"the local backend finds training job {trial!r} only within its tuning job")
        return trial_artifact(self.folder(job), trial)

    def _local_path(self, uri: str) -> Path | None:
        return local_path(uri)

    def _model_location(self, model: str) -> str:
        if model.startswith("s3://"):
            raise BackendError(f"the local backend scores and serves local model folders, not {model!r}")
        folder = Path(model).expanduser().resolve()
        if not (folder / "config.json").is_file():
            raise BackendError(f"{folder} is not a model folder (it has no config.json)")
        return str(folder)

    def _save_evaluation(self, job: str, key: str, document: str) -> None:
        from .state import write_text

        folder = self.folder(job).path / EVALUATIONS
        folder.mkdir(exist_ok=True)
        write_text(folder / f"{key}.json", document)

    def _evaluations(self, job: str) -> dict[str, str]:
        folder = self.folder(job).path / EVALUATIONS
        files = sorted(folder.glob("*.json")) if folder.is_dir() else []
        return {path.stem: path.read_text(encoding="utf-8", errors="replace") for path in files}


def finished(state: JobState, name: str) -> str | None:
    """Why a job whose ``job.json`` is ``state`` has nothing to resume, or ``None`` (it can be resumed).

    A job ended for good (Completed, Failed, or Stopped out of runtime: not resumable) is finished.
    """
    status, resumability = effective(state)
    if status in ("InProgress", "Stopping") or resumability is not Resumability.NOT_RESUMABLE:
        return None
    return f"job {name} already {status}: nothing to resume"
