"""The local coordinator: asks optuna for configurations, runs trials as subprocesses, applies AMT's rules.

Exactly one coordinator process writes a job's state (``study.db``, ``job.json``,
``trial.json`` files); readers (``hfst status``, analytics) only read. It can be
killed at any point (even SIGKILL) and resumed: finished trials are kept, trials that
were running are re-run with the same hyperparameters, and the count stays exact.

Completion rules (checked after every finished trial):

* ``MaxNumberOfTrainingJobs`` trials launched (Grid: every combination once);
* ``TargetObjectiveMetricValue`` reached by a completed trial;
* ``MaxNumberOfTrainingJobsNotImproving`` completed trials in a row without a new best;
* convergence (``CompleteOnConvergence``): at least 10 completed trials and the best value
  improved by less than 0.1% (relative) over the last ``max(5, max_jobs // 10)`` completed trials;
* ``MaxRuntimeInSeconds`` of the tuning job (time spent running, summed over resumes);
* the failure budget: more than ``max(3, max_jobs // 2)`` failed trials fails the job.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import BackendError
from . import search
from .jobs import JobFolder, iso, now
from .metrics import MetricReader
from .trial import Launch, failure_reason, start, terminate

if TYPE_CHECKING:  # pragma: no cover
    import optuna

log = logging.getLogger("hf_sagemaker_tuning.local")
CONVERGENCE_MIN_TRIALS = 10
CONVERGENCE_TOLERANCE = 1e-3


@dataclass
class Options:
    """Settings of the local backend that SageMaker has no field for."""

    python: str = sys.executable
    trials_per_gpu: int = 1
    gpus: list[str] | None = None
    max_failed_trials: int | None = None
    poll_seconds: float = 0.2
    grace_seconds: float = 10.0

    def to_json(self) -> dict[str, Any]:
        return {
            "python": self.python,
            "trials_per_gpu": self.trials_per_gpu,
            "gpus": self.gpus,
            "max_failed_trials": self.max_failed_trials,
            "poll_seconds": self.poll_seconds,
            "grace_seconds": self.grace_seconds,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Options:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def detect_gpus() -> list[str]:
    """GPU ids visible to this process: ``CUDA_VISIBLE_DEVICES`` if set, else ``nvidia-smi -L``."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [g for g in visible.split(",") if g.strip() and g.strip() != "-1"]
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(out.splitlines()) if line.startswith("GPU ")]


@dataclass
class Running:
    record: dict[str, Any]
    trial: optuna.trial.Trial
    process: subprocess.Popen[bytes]
    reader: MetricReader
    started: float
    slot: int
    folder: Path
    reported: int = 0


@dataclass
class Coordinator:
    folder: JobFolder
    options: Options = field(default_factory=Options)

    def __post_init__(self) -> None:
        self.request = self.folder.request()
        self.config = self.request.HyperParameterTuningJobConfig
        self.max_trials = search.max_trials(self.request)
        self.parallel = self.config.ResourceLimits.MaxParallelTrainingJobs
        self.gpus = self.options.gpus if self.options.gpus is not None else detect_gpus()
        self.slots = self._slots()
        self.running: dict[str, Running] = {}
        self._signal: str | None = None
        self._stopping_reason: str | None = None

    # ----------------------------------------------------------------- setup
    def _slots(self) -> list[tuple[str | None, int | None]]:
        cpus = os.cpu_count() or 1
        if self.gpus:
            gpu_slots = [g for g in self.gpus for _ in range(max(1, self.options.trials_per_gpu))]
            parallel = min(self.parallel, len(gpu_slots))
            per_trial = max(1, cpus // parallel)
            return [(g, per_trial) for g in gpu_slots[:parallel]]
        # CPU: split the cores so parallel trials do not thrash (one thread each when more run than cores).
        threads: int | None = None if self.parallel == 1 else max(1, cpus // self.parallel)
        return [(None, threads)] * self.parallel

    def _study(self) -> optuna.Study:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        with warnings.catch_warnings():
            # constant_liar/multivariate TPE are marked experimental by optuna; we rely on them on purpose.
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.create_study(
                storage=self.folder.storage_url,
                study_name=self.request.job_name,
                direction="maximize" if self.request.maximize else "minimize",
                sampler=search.sampler(self.request),
                pruner=search.pruner(self.request),
                load_if_exists=True,
            )

    # ----------------------------------------------------------------- state
    def _state(self) -> dict[str, Any]:
        if self.folder.job_file.is_file():
            return self.folder.state()
        return {}

    def _save_state(self, **changes: Any) -> None:
        state = self._state()
        state.update(changes)
        state["LastModifiedTime"] = iso(now())
        self.folder.write_state(state)

    def _records(self) -> list[dict[str, Any]]:
        return [r for r in self.folder.trial_records() if not r.get("Superseded")]

    def _launched(self) -> int:
        return len(self._records())

    # ----------------------------------------------------------------- resume
    def _resume(self, study: optuna.Study) -> None:
        import optuna

        first_start = not self.folder.trials_dir.is_dir() and not study.trials
        if first_start:
            self._warm_start(study)
        if first_start and self.config.Strategy == "Grid":
            for combo in search.grid(self.request)[: self.max_trials]:
                study.enqueue_trial(combo)
        for record in self.folder.trial_records():
            if record.get("Superseded"):
                continue
            unfinished = (
                record["TrainingJobStatus"] in ("InProgress", "Stopping") or record.get("StopReason") == "Interrupted"
            )
            if not unfinished:
                continue
            pid = record.get("Pid")
            if pid:
                terminate(int(pid), grace_seconds=self.options.grace_seconds)  # an orphan of a killed coordinator
            record["Superseded"] = True
            record["TrainingJobStatus"] = "Stopped"
            record.setdefault("StopReason", "Interrupted")
            self.folder.write_trial(record)
            number = record.get("TrialNumber")
            if number is not None and study.trials[number].state == optuna.trial.TrialState.RUNNING:
                study.tell(number, state=optuna.trial.TrialState.FAIL)
            study.enqueue_trial(search.from_hyperparameters(self.request, record["TunedHyperParameters"]))
            log.info("re-running %s (interrupted) with the same hyperparameters", record["TrainingJobName"])

    def _warm_start(self, study: optuna.Study) -> None:
        """Seed the search with the parents' finished trials that fit this job's ranges.

        Parents are looked up beside this job's folder. Seeded trials inform the sampler
        but are not this job's trials (they do not count towards MaxNumberOfTrainingJobs).
        """
        import optuna

        warm = self.request.WarmStartConfig
        if warm is None:
            return
        dists = search.distributions(self.request)
        for parent in warm.ParentHyperParameterTuningJobs:
            folder = JobFolder(self.folder.path.parent / parent.HyperParameterTuningJobName)
            if not folder.exists():
                raise BackendError(
                    f"warm start: parent job {parent.HyperParameterTuningJobName!r} is not in {folder.path.parent}"
                )
            added = 0
            for record in folder.trial_records():
                value = record.get("FinalObjectiveValue")
                if record.get("Superseded") or record["TrainingJobStatus"] != "Completed" or value is None:
                    continue
                try:
                    params = search.from_hyperparameters(self.request, record["TunedHyperParameters"])
                    study.add_trial(optuna.trial.create_trial(params=params, distributions=dists, value=value))
                except (KeyError, ValueError):
                    continue  # outside the narrowed ranges, or a parameter this job does not tune
                added += 1
            log.info("warm start: %d trials from %s", added, parent.HyperParameterTuningJobName)

    # ----------------------------------------------------------------- launch
    def _launch(self, study: optuna.Study, slot: int) -> None:
        trial = study.ask(search.distributions(self.request))
        tuned = search.to_hyperparameters(self.request, trial.params)
        index = self._launched() + 1
        name = f"{self.request.job_name}-{index:03d}-{uuid.uuid4().hex[:8]}"
        hyperparameters = dict(self.request.TrainingJobDefinition.StaticHyperParameters)
        hyperparameters["_tuning_objective_metric"] = self.request.objective_metric
        hyperparameters.update(tuned)
        gpu, threads = self.slots[slot]
        launch = Launch(
            name=name,
            folder=self.folder.trial_dir(name),
            hyperparameters=hyperparameters,
            cuda_devices=gpu,
            threads=threads,
        )
        moment = now()
        record: dict[str, Any] = {
            "TrainingJobName": name,
            "Index": index,
            "TrialNumber": trial.number,
            "TunedHyperParameters": tuned,
            "TrainingJobStatus": "InProgress",
            "ObjectiveStatus": "Pending",
            "CreationTime": iso(moment),
            "TrainingStartTime": iso(moment),
            "TrainingEndTime": None,
            "FailureReason": None,
            "FinalObjectiveValue": None,
            "Metrics": {},
            "Device": gpu or "cpu",
            "Threads": threads,
        }
        launch.folder.mkdir(parents=True, exist_ok=True)
        self.folder.write_trial(record)
        try:
            process = start(self.request, launch, python=self.options.python)
        except BackendError as exc:
            study.tell(trial, state=_state("FAIL"))
            self._finish(record, "Failed", reason=str(exc))
            return
        record["Pid"] = process.pid
        self.folder.write_trial(record)
        reader = MetricReader.for_request(self.request, launch.folder / "log.txt")
        self.running[name] = Running(record, trial, process, reader, time.monotonic(), slot, launch.folder)
        log.info("started %s on %s: %s", name, gpu or "cpu", tuned)

    def _free_slot(self) -> int | None:
        used = {r.slot for r in self.running.values()}
        for i in range(len(self.slots)):
            if i not in used:
                return i
        return None

    # ----------------------------------------------------------------- finish
    def _finish(
        self,
        record: dict[str, Any],
        status: str,
        *,
        reason: str | None = None,
        objective: float | None = None,
        stop_reason: str | None = None,
    ) -> None:
        record["TrainingJobStatus"] = status
        record["TrainingEndTime"] = iso(now())
        record["FailureReason"] = reason
        record["Pid"] = None
        if stop_reason:
            record["StopReason"] = stop_reason
        if objective is not None and math.isfinite(objective):
            record["FinalObjectiveValue"] = objective
            record["ObjectiveStatus"] = "Succeeded"
        else:
            record["ObjectiveStatus"] = "Failed" if status in ("Completed", "Failed") else "Pending"
        self.folder.write_trial(record)
        log.info("%s %s%s", record["TrainingJobName"], status.lower(), f": {reason}" if reason else "")

    def _close(
        self,
        run: Running,
        study: optuna.Study,
        status: str,
        *,
        reason: str | None = None,
        stop_reason: str | None = None,
    ) -> None:
        run.reader.finish()
        run.record["Metrics"] = run.reader.series
        objective = run.reader.final_objective
        if status == "Completed":
            if objective is None:
                status, reason = (
                    "Failed",
                    (
                        f"no value of the objective metric {self.request.objective_metric!r} was found in the trial's "
                        "output (check the metric regex and that the entry point prints it)"
                    ),
                )
            elif not math.isfinite(objective):
                status, reason = "Failed", f"the objective {self.request.objective_metric!r} is {objective}"
        if status == "Completed" and objective is not None:
            study.tell(run.trial, objective)
        elif status == "Stopped" and stop_reason == "EarlyStopping":
            study.tell(run.trial, state=_state("PRUNED"))
        elif status == "Failed":
            study.tell(run.trial, state=_state("FAIL"))
        # Interrupted trials stay RUNNING in optuna; resume supersedes and re-runs them.
        self._finish(
            run.record,
            status,
            reason=reason,
            objective=objective if status != "Failed" else None,
            stop_reason=stop_reason,
        )
        del self.running[run.record["TrainingJobName"]]

    # ----------------------------------------------------------------- monitor
    def _poll(self, study: optuna.Study) -> None:
        runtime_limit = self.request.TrainingJobDefinition.StoppingCondition.MaxRuntimeInSeconds
        max_resource = search.hyperband_max_resource(self.request)
        for run in list(self.running.values()):
            for value in run.reader.poll():
                run.reported += 1
                if math.isfinite(value):
                    run.trial.report(value, step=run.reported)
                if max_resource is not None and run.reported >= max_resource:
                    terminate(run.process, self.options.grace_seconds)
                    self._close(run, study, "Completed")
                    break
                if math.isfinite(value) and run.trial.should_prune():
                    terminate(run.process, self.options.grace_seconds)
                    self._close(run, study, "Stopped", stop_reason="EarlyStopping")
                    break
            else:
                code = run.process.poll()
                if code is not None:
                    if code == 0:
                        self._close(run, study, "Completed")
                    else:
                        self._close(run, study, "Failed", reason=failure_reason(run.folder, code))
                elif time.monotonic() - run.started > runtime_limit:
                    terminate(run.process, self.options.grace_seconds)
                    reason = f"MaxRuntimeExceeded: the trial ran longer than {runtime_limit} s (StoppingCondition)"
                    self._close(run, study, "Failed", reason=reason)
                else:
                    run.record["Metrics"] = run.reader.series
                    self.folder.write_trial(run.record)

    # ----------------------------------------------------------------- completion
    def _completion(self) -> str | None:
        records = self._records()
        done = [r for r in records if r["TrainingJobStatus"] == "Completed" and r["FinalObjectiveValue"] is not None]
        sign = 1.0 if self.request.maximize else -1.0
        criteria = self.config.TuningJobCompletionCriteria
        if criteria is not None and done:
            best = max(sign * r["FinalObjectiveValue"] for r in done)
            if criteria.TargetObjectiveMetricValue is not None and best >= sign * criteria.TargetObjectiveMetricValue:
                return "TargetObjectiveMetricValueReached"
            if criteria.BestObjectiveNotImproving is not None:
                limit = criteria.BestObjectiveNotImproving.MaxNumberOfTrainingJobsNotImproving
                if _not_improving(done, sign) >= limit:
                    return "BestObjectiveNotImproving"
            convergence = criteria.ConvergenceDetected
            if (
                convergence is not None
                and convergence.CompleteOnConvergence == "Enabled"
                and _converged(done, sign, window=max(5, self.max_trials // 10))
            ):
                return "ConvergenceDetected"
        failed = sum(r["TrainingJobStatus"] == "Failed" for r in records)
        allowed = self.options.max_failed_trials
        budget = max(3, self.max_trials // 2) if allowed is None else allowed
        if failed > budget:
            return "FailureBudgetExceeded"
        job_limit = self.config.ResourceLimits.MaxRuntimeInSeconds
        if job_limit is not None and self._consumed() > job_limit:
            return "MaxRuntimeExceeded"
        return None

    def _consumed(self) -> float:
        return float(self._state().get("ConsumedRuntimeSeconds", 0.0)) + (time.monotonic() - self._session_start)

    # ----------------------------------------------------------------- run
    def _on_signal(self, signum: int, _frame: Any) -> None:
        self._signal = signal.Signals(signum).name

    def run(self) -> str:
        """Run (or resume) the job until it completes, fails or is stopped; return the final status."""
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
        finally:
            log.removeHandler(file_log)
            log.setLevel(level)
            file_log.close()
            for s, handler in previous.items():
                signal.signal(s, handler)

    def _run(self) -> str:
        study = self._study()
        state = self._state()
        self._save_state(
            HyperParameterTuningJobStatus="InProgress",
            CreationTime=state.get("CreationTime") or iso(now()),
            HyperParameterTuningEndTime=None,
            FailureReason=None,
            CompletionReason=None,
            CoordinatorPid=os.getpid(),
            Options=self.options.to_json(),
            ConsumedRuntimeSeconds=state.get("ConsumedRuntimeSeconds", 0.0),
        )
        self._resume(study)
        last_saved = time.monotonic()
        while True:
            if self._signal or self.folder.stop_file.exists():
                return self._stop_everything(study, "Stopped", reason=f"stopped by {self._signal or 'request'}")
            self._poll(study)
            reason = self._completion()
            if reason is not None and self._stopping_reason is None:
                self._stopping_reason = reason
                for run in list(self.running.values()):
                    terminate(run.process, self.options.grace_seconds)
                    self._close(run, study, "Stopped", stop_reason=reason)
            if self._stopping_reason is None:
                while self._launched() < self.max_trials and (slot := self._free_slot()) is not None:
                    self._launch(study, slot)
            if not self.running and (self._stopping_reason is not None or self._launched() >= self.max_trials):
                return self._conclude()
            if time.monotonic() - last_saved > 5:
                self._checkpoint_runtime()
                last_saved = time.monotonic()
            time.sleep(self.options.poll_seconds)

    def _checkpoint_runtime(self) -> None:
        consumed = self._consumed()
        self._session_start = time.monotonic()
        self._save_state(ConsumedRuntimeSeconds=consumed)

    def _stop_everything(self, study: optuna.Study, status: str, reason: str) -> str:
        self._save_state(HyperParameterTuningJobStatus="Stopping")
        for run in list(self.running.values()):
            terminate(run.process, self.options.grace_seconds)
            self._close(run, study, "Stopped", stop_reason="Interrupted")
        self._checkpoint_runtime()
        self._save_state(
            HyperParameterTuningJobStatus=status,
            HyperParameterTuningEndTime=iso(now()),
            CompletionReason=reason,
            CoordinatorPid=None,
        )
        self.folder.stop_file.unlink(missing_ok=True)
        return status

    def _conclude(self) -> str:
        records = self._records()
        completed = [
            r for r in records if r["TrainingJobStatus"] == "Completed" and r["FinalObjectiveValue"] is not None
        ]
        reason = self._stopping_reason
        if reason == "FailureBudgetExceeded":
            failed = sum(r["TrainingJobStatus"] == "Failed" for r in records)
            status, failure = "Failed", f"{failed} trials failed, more than the failure budget allows"
        elif not completed:
            status, failure = "Failed", "no trial completed with an objective value"
        elif reason == "MaxRuntimeExceeded":
            status, failure = "Stopped", None
        else:
            status, failure = "Completed", None
        self._checkpoint_runtime()
        self._save_state(
            HyperParameterTuningJobStatus=status,
            HyperParameterTuningEndTime=iso(now()),
            FailureReason=failure,
            CompletionReason=reason or "MaxNumberOfTrainingJobsReached",
            CoordinatorPid=None,
        )
        log.info("job %s: %s (%s)", self.request.job_name, status, failure or reason or "all trials done")
        return status


def _state(name: str) -> Any:
    import optuna

    return getattr(optuna.trial.TrialState, name)


def _not_improving(done: list[dict[str, Any]], sign: float) -> int:
    """Completed trials since the best one (in the order they finished)."""
    ordered = sorted(done, key=lambda r: r["TrainingEndTime"] or "")
    best, since = -math.inf, 0
    for record in ordered:
        value = sign * record["FinalObjectiveValue"]
        if value > best:
            best, since = value, 0
        else:
            since += 1
    return since


def _converged(done: list[dict[str, Any]], sign: float, window: int) -> bool:
    if len(done) < max(CONVERGENCE_MIN_TRIALS, window + 1):
        return False
    ordered = sorted(done, key=lambda r: r["TrainingEndTime"] or "")
    values = [sign * r["FinalObjectiveValue"] for r in ordered]
    before = max(values[:-window])
    after = max(values)
    return bool(after - before <= CONVERGENCE_TOLERANCE * max(abs(before), 1e-12))


def main(argv: list[str] | None = None) -> int:
    """``python -m hf_sagemaker_tuning.backends.local.coordinator JOB_DIR``: run or resume a job."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("job_dir", type=Path)
    args = parser.parse_args(argv)
    folder = JobFolder(args.job_dir)
    options = Options.from_json(folder.state().get("Options", {})) if folder.job_file.is_file() else Options()
    status = Coordinator(folder, options).run()
    return 0 if status in ("Completed", "Stopped") else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
