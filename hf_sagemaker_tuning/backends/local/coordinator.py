"""The local coordinator: asks optuna for configurations, runs trials as subprocesses, applies AMT's rules.

Exactly one coordinator process writes a job's state (``study.db``, ``job.json``,
``trial.json`` files): it holds the job's lock (lock.py) for its whole life, taken before it
touches anything. Readers (``hfst status``, analytics) only read. It can be killed at any
point (even SIGKILL) and resumed exactly: a trial's outcome is written to its ``trial.json``
before the study learns it, so finished trials are kept (and the study told what it missed),
trials that finished while no coordinator ran are adopted from their folder (``exit.json``
and their log), trials still running are adopted and watched to the end, trials it was
ending (early stopping, Hyperband) are finished from their log, interrupted ones are re-run
with the same hyperparameters, any other process of the job is ended, the count stays exact
and no configuration is tried twice.

Test hook: ``HFST_TEST_KILL_AT=<checkpoint>[@<n>]`` (checkpoints.py) makes a coordinator
started by ``main`` SIGKILL itself at an exact step, so tests kill it where they mean to. The completion rules are in
completion.py, the optuna side in study.py, one trial's process in runner.py, the slots in
slots.py, the checks of a crashed job's folder in recovery.py, what a coordinator does on resume in resume.py.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ... import _process
from ...errors import BackendError
from .adoption import Running
from .checkpoints import CHECKPOINTS, KILL_AT, Checkpoints, kill_point
from .completion import Rules, completion_reason, final_status
from .jobs import JobFolder, now
from .lock import JobLock
from .recovery import ensure_study, launch_of
from .resume import Resume
from .runner import Outcome, TrialRun, apply_outcome
from .search import hyperband_max_resource, max_trials, to_hyperparameters
from .slots import Slot, detect_gpus, plan_slots, processes_of
from .state import JobState, LocalOptions, Resumability, TrialRecord
from .study import open_study, propose, tell_record
from .tracking import observer_for

if TYPE_CHECKING:  # pragma: no cover
    import optuna

    from ..base import Backend

log = logging.getLogger("hf_sagemaker_tuning.local")
#: Kept for callers of the old name.
Options = LocalOptions
__all__ = ["CHECKPOINTS", "KILL_AT", "Coordinator", "Options", "kill_point"]


@dataclass
class Coordinator(Resume):
    folder: JobFolder
    options: LocalOptions = field(default_factory=LocalOptions)
    #: The job's backend, for tracking (it reads the job's records through it); ``None``: no live tracking.
    backend: Backend | None = None

    def __post_init__(self) -> None:
        self.request = self.folder.request()
        self.max_trials = max_trials(self.request)
        self.rules = Rules.from_request(self.request, self.max_trials, self.options.max_failed_trials)
        parallel = self.request.HyperParameterTuningJobConfig.ResourceLimits.MaxParallelTrainingJobs
        gpus = self.options.gpus if self.options.gpus is not None else detect_gpus()
        self.slots: list[Slot] = plan_slots(
            gpus,
            parallel,
            self.options.trials_per_gpu,
            gpus_per_trial=self.options.gpus_per_trial,
            processes_per_trial=self.options.processes_per_trial,
        )
        self.running: dict[str, Running] = {}
        self._signal: str | None = None
        self._stopping_reason: str | None = None
        self._session_start = time.monotonic()
        self.checkpoints = Checkpoints()  # the test hook, armed by main() only
        self._checkpoint = self.checkpoints.reach
        self.observer = observer_for(self.folder, self.request, log, self.backend)  # tracking (a no-op without it)

    # ----------------------------------------------------------------- state
    def _state(self) -> JobState:
        return self.folder.state() if self.folder.job_file.is_file() else JobState()

    def _save_state(self, **changes: Any) -> None:
        state = self._state()
        for key, value in changes.items():
            setattr(state, key, value)
        state.LastModifiedTime = now()
        self.folder.write_state(state)

    def _records(self) -> list[TrialRecord]:
        return [r for r in self.folder.trial_records() if not r.Superseded]

    def _launched(self) -> int:
        return len(self._records())

    def _consumed(self) -> float:
        return self._state().ConsumedRuntimeSeconds + (time.monotonic() - self._session_start)

    def _checkpoint_runtime(self) -> None:
        consumed = self._consumed()
        self._session_start = time.monotonic()
        self._save_state(ConsumedRuntimeSeconds=consumed)

    # ----------------------------------------------------------------- trials
    def _launch(self, study: optuna.Study, slot: int) -> None:
        index = self._launched() + 1
        trial = propose(study, self.request, [r.TunedHyperParameters for r in self.folder.trial_records()], index)
        self._checkpoint("launch.asked")
        tuned = to_hyperparameters(self.request, trial.params)
        name = f"{self.request.job_name}-{index:03d}-{uuid.uuid4().hex[:8]}"
        hyperparameters = dict(self.request.TrainingJobDefinition.StaticHyperParameters)
        hyperparameters["_tuning_objective_metric"] = self.request.objective_metric
        hyperparameters.update(tuned)
        gpu, threads = self.slots[slot]
        moment = now()
        record = TrialRecord(
            TrainingJobName=name,
            Index=index,
            TrialNumber=trial.number,
            TunedHyperParameters=tuned,
            HyperParameters=hyperparameters,
            CreationTime=moment,
            TrainingStartTime=moment,
            Device=gpu or "cpu",
            Threads=threads,
            Processes=processes_of(gpu, self.options),
        )
        self.folder.trial_dir(name).mkdir(parents=True, exist_ok=True)
        self.folder.write_trial(record)
        self._save_state(Trials=[*(self._state().Trials or []), name])
        self._checkpoint("launch.recorded")
        self._start(study, record, trial, slot)

    def _start(
        self,
        study: optuna.Study,
        record: TrialRecord,
        trial: optuna.trial.Trial,
        slot: int,
        known_steps: set[int] | None = None,
    ) -> None:
        """Start a recorded trial's process and watch it (``known_steps``: already reported to optuna)."""
        try:
            run = TrialRun.start(
                self.request,
                launch_of(self.folder, record),
                python=self.options.python,
                grace_seconds=self.options.grace_seconds,
            )
        except BackendError as exc:
            self._write_end(record, Outcome("Failed", str(exc)))
            tell_record(study, trial, record)
            return
        self._checkpoint("launch.started")
        record.Pid, record.PidStarted = run.pid, run.pid_started
        self.folder.write_trial(record)
        self.running[record.TrainingJobName] = Running(record, trial, run, slot, set(known_steps or ()))
        log.info("started %s on %s: %s", record.TrainingJobName, record.Device, record.TunedHyperParameters)
        self.observer.started(record.TrainingJobName)

    def _free_slot(self) -> int | None:
        used = {r.slot for r in self.running.values()}
        return next((i for i in range(len(self.slots)) if i not in used), None)

    def _write_end(self, record: TrialRecord, outcome: Outcome, ended: datetime | None = None) -> None:
        apply_outcome(record, outcome, ended or now())
        self.folder.write_trial(record)
        reason = f": {outcome.reason}" if outcome.reason else ""
        log.info("%s %s%s", record.TrainingJobName, outcome.status.lower(), reason)

    def _close(self, running: Running, study: optuna.Study, outcome: Outcome, ended: datetime | None = None) -> None:
        running.record.Metrics = running.run.series
        self._checkpoint("end.judged")
        # The trial's own file first: it is the authority a resume goes by (``reconcile`` tells
        # the study what a kill right after this line kept from it). Interrupted trials stay
        # RUNNING in optuna; resume supersedes and re-runs them.
        self._write_end(running.record, outcome, ended)
        self._checkpoint("end.recorded")
        tell_record(study, running.trial, running.record)
        self._checkpoint("end.told")
        self.running.pop(running.record.TrainingJobName, None)
        self.observer.ended(running.record.TrainingJobName)

    def _stop_trial(self, running: Running, study: optuna.Study, status: str, stop_reason: str | None) -> None:
        # Stopping on disk first, with what it ends as: if this coordinator dies now, a resume
        # finishes an early-stopped (or Hyperband-complete) trial from its log, and re-runs an
        # interrupted one rather than judging the exit status our own SIGTERM caused.
        running.record.TrainingJobStatus = "Stopping"
        if stop_reason != "Interrupted":
            running.record.EndingAs = "Completed" if status == "Completed" else "Stopped"
            running.record.StopReason = stop_reason
        self.folder.write_trial(running.record)
        self._checkpoint("stop.marked")
        running.run.terminate()
        self._close(running, study, running.run.stopped(status, stop_reason))

    def _poll(self, study: optuna.Study) -> None:
        max_resource = hyperband_max_resource(self.request)
        for running in list(self.running.values()):
            run, ended = running.run, False
            for value in run.poll():
                run.reported += 1
                running.report(value, run.reported)
                if max_resource is not None and run.reported >= max_resource:
                    self._stop_trial(running, study, "Completed", None)
                    ended = True
                    break
                if math.isfinite(value) and running.trial.should_prune():
                    self._stop_trial(running, study, "Stopped", "EarlyStopping")
                    ended = True
                    break
            if ended:
                continue
            outcome = run.exited()
            if outcome is None and run.over_runtime():
                outcome = run.runtime_exceeded()
            if outcome is not None:
                self._close(running, study, outcome)
            else:
                running.record.Metrics = run.series
                self.folder.write_trial(running.record)
                self.observer.progressed(running.record.TrainingJobName, sum(map(len, run.series.values())))

    def _completion(self) -> str | None:
        records = self._records()
        done = [r for r in records if r.TrainingJobStatus == "Completed" and r.FinalObjectiveValue is not None]
        done.sort(key=lambda r: r.TrainingEndTime or now())
        values = [float(r.FinalObjectiveValue or 0.0) for r in done]
        failed = sum(r.TrainingJobStatus == "Failed" for r in records)
        return completion_reason(self.rules, values, failed, self._consumed())

    # ----------------------------------------------------------------- run
    def _on_signal(self, signum: int, _frame: Any) -> None:
        self._signal = signal.Signals(signum).name

    def run(self, lock: JobLock | None = None) -> str:
        """Run (or resume) the job until it completes, fails or is stopped; return the final status.

        Args:
            lock: the job's lock, already taken (default: take it now).

        Raises:
            JobBusyError: another process holds the job (its pid is named); nothing was touched.
        """
        held = lock if lock is not None else JobLock.acquire(self.folder.path)
        try:
            held.record(os.getpid())
            return self._run_locked()
        finally:
            held.release()

    def _run_locked(self) -> str:
        previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
        for s in previous:
            signal.signal(s, self._on_signal)
        self._session_start = time.monotonic()
        self.folder.stop_file.unlink(missing_ok=True)
        file_log = logging.FileHandler(self.folder.log_file, encoding="utf-8")
        file_log.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(file_log)
        level = log.level
        log.setLevel(logging.INFO)
        try:
            return self._run()
        except Exception as exc:
            self._crashed(exc)
            raise
        finally:
            log.removeHandler(file_log)
            log.setLevel(level)
            file_log.close()
            for s, handler in previous.items():
                signal.signal(s, handler)

    def _run(self) -> str:
        me = _process.ProcessRef.of(os.getpid())
        self._save_state(
            HyperParameterTuningJobStatus="InProgress",
            CreationTime=self._state().CreationTime or now(),
            HyperParameterTuningEndTime=None,
            FailureReason=None,
            CompletionReason=None,
            Resumability=Resumability.NOT_RESUMABLE,
            CoordinatorPid=me.pid,
            CoordinatorStarted=me.started,
            Options=self.options,
        )
        self._checkpoint("started")
        repaired = ensure_study(self.folder, self.request)
        if repaired:
            log.warning("%s", repaired)
        study = open_study(self.folder, self.request)
        self._recover(study)
        last_saved = time.monotonic()
        while True:
            if self._signal or self.folder.stop_file.exists():
                return self._stop_everything(study, reason=f"stopped by {self._signal or 'request'}")
            self._poll(study)
            reason = self._completion()
            if reason is not None and self._stopping_reason is None:
                self._stopping_reason = reason
                for running in list(self.running.values()):
                    self._stop_trial(running, study, "Stopped", reason)
            if self._stopping_reason is None:
                while self._launched() < self.max_trials and (slot := self._free_slot()) is not None:
                    self._launch(study, slot)
            if not self.running and (self._stopping_reason is not None or self._launched() >= self.max_trials):
                return self._conclude()
            if time.monotonic() - last_saved > 5:
                self._checkpoint_runtime()
                last_saved = time.monotonic()
            time.sleep(self.options.poll_seconds)

    def _crashed(self, exc: Exception) -> None:
        """An unexpected error: end the trials and leave the job Stopped and resumable (Interrupted)."""
        log.exception("the coordinator failed: %s", exc)
        for running in list(self.running.values()):
            running.run.terminate()
            running.record.TrainingJobStatus, running.record.StopReason = "Stopped", "Interrupted"
            running.record.Pid = running.record.PidStarted = None
            with contextlib.suppress(OSError):
                self.folder.write_trial(running.record)
        with contextlib.suppress(OSError, BackendError):
            self._save_state(
                HyperParameterTuningJobStatus="Stopped",
                HyperParameterTuningEndTime=now(),
                CompletionReason=f"the coordinator failed: {str(exc)[:500]}",
                Resumability=Resumability.INTERRUPTED,
                CoordinatorPid=None,
                CoordinatorStarted=None,
            )

    def _stop_everything(self, study: optuna.Study, reason: str) -> str:
        self._save_state(HyperParameterTuningJobStatus="Stopping")
        for running in list(self.running.values()):
            self._stop_trial(running, study, "Stopped", "Interrupted")
        self._checkpoint_runtime()
        self._save_state(
            HyperParameterTuningJobStatus="Stopped",
            HyperParameterTuningEndTime=now(),
            CompletionReason=reason,
            Resumability=Resumability.STOPPED_BY_REQUEST,
            CoordinatorPid=None,
            CoordinatorStarted=None,
        )
        self.folder.stop_file.unlink(missing_ok=True)
        self.observer.job_ended()
        return "Stopped"

    def _conclude(self) -> str:
        self._checkpoint("concluding")
        records = self._records()
        completed = sum(r.TrainingJobStatus == "Completed" and r.FinalObjectiveValue is not None for r in records)
        failed = sum(r.TrainingJobStatus == "Failed" for r in records)
        status, failure, reason = final_status(self._stopping_reason, completed, failed)
        self._checkpoint_runtime()
        self._save_state(
            HyperParameterTuningJobStatus=status,
            HyperParameterTuningEndTime=now(),
            FailureReason=failure,
            CompletionReason=reason,
            Resumability=Resumability.NOT_RESUMABLE,
            CoordinatorPid=None,
            CoordinatorStarted=None,
        )
        log.info("job %s: %s (%s)", self.request.job_name, status, failure or reason)
        self.observer.job_ended()
        return status
