"""One trial runner: start a training process, poll its metrics, terminate it, and judge how it ended.

Used by the coordinator (one ``TrialRun`` per running trial, polled in its loop) and by
``start_training`` (``run_to_end``), so a tuning trial and a retrain run are started,
watched, stopped and judged the same way. A resumed coordinator ``adopt``s a trial that its
killed predecessor started and that still runs: it is watched through its recorded pid and
start time, and judged by the exit status its wrapper leaves (``exit.json``).
"""

from __future__ import annotations

import math
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from ... import _process
from ...compile.request import TuningJobRequest
from .metrics import MetricReader
from .state import TrialRecord
from .trial import Launch, failure_reason, read_exit, start

#: Called with (metric name, value) for every metric value a run emits.
MetricCallback = Callable[[str, float], None]


@dataclass(frozen=True)
class Outcome:
    """How a run ended: its status (SageMaker's spelling), why, and its final objective."""

    status: str
    reason: str | None = None
    objective: float | None = None
    stop_reason: str | None = None


@dataclass
class TrialRun:
    """A started training process and the reader of its metric lines."""

    request: TuningJobRequest
    launch: Launch
    process: subprocess.Popen[bytes] | None
    reader: MetricReader
    started: float = field(default_factory=time.monotonic)
    pid_started: int | None = None
    adopted: _process.ProcessRef | None = None
    reported: int = 0
    grace_seconds: float = 10.0
    on_metric: MetricCallback | None = None
    _seen: dict[str, int] = field(default_factory=dict)

    @classmethod
    def start(
        cls,
        request: TuningJobRequest,
        launch: Launch,
        *,
        python: str = sys.executable,
        grace_seconds: float = 10.0,
        on_metric: MetricCallback | None = None,
    ) -> TrialRun:
        """Lay out the run's folder and start its process (``BackendError`` when it cannot start)."""
        process = start(request, launch, python=python)
        return cls(
            request=request,
            launch=launch,
            process=process,
            reader=MetricReader.for_request(request, launch.folder / "log.txt"),
            pid_started=_process.start_time(process.pid),
            grace_seconds=grace_seconds,
            on_metric=on_metric,
        )

    @classmethod
    def adopt(
        cls,
        request: TuningJobRequest,
        launch: Launch,
        process: _process.ProcessRef,
        *,
        running_seconds: float = 0.0,
        grace_seconds: float = 10.0,
    ) -> TrialRun:
        """Watch a run started by another (killed) coordinator; its log is read again from the start."""
        return cls(
            request=request,
            launch=launch,
            process=None,
            reader=MetricReader.for_request(request, launch.folder / "log.txt"),
            started=time.monotonic() - max(0.0, running_seconds),
            pid_started=process.started,
            grace_seconds=grace_seconds,
            adopted=process,
        )

    @property
    def pid(self) -> int:
        if self.process is not None:
            return self.process.pid
        return self.adopted.pid if self.adopted is not None else 0

    @property
    def series(self) -> dict[str, list[float]]:
        """Every metric value read so far, in order."""
        return self.reader.series

    def poll(self) -> list[float]:
        """New objective values since the last call (each one is one step reported for pruning)."""
        new = self.reader.poll()
        self._notify()
        return new

    def exit_code(self) -> int | None:
        """The entry point's exit code once the run ended (as ``exit.json`` records it when it can).

        An adopted run that ended without an exit status (its wrapper was killed) reads as
        killed by SIGKILL.
        """
        if self.process is not None:
            code = self.process.poll()
            if code is None:
                return None
        elif self.adopted is not None and self.adopted.is_alive():
            return None
        else:
            code = -9
        recorded = read_exit(self.launch.folder)
        return recorded.code if recorded is not None else code

    def over_runtime(self) -> bool:
        """Ran longer than the request's ``StoppingCondition.MaxRuntimeInSeconds``."""
        limit = self.request.TrainingJobDefinition.StoppingCondition.MaxRuntimeInSeconds
        return time.monotonic() - self.started > limit

    def terminate(self) -> None:
        """SIGTERM the run's process group, SIGKILL after the grace period; reap it (when it is our child)."""
        if self.process is None:
            _process.terminate_group(self.pid, self.pid_started, grace_seconds=self.grace_seconds)
        else:
            _process.terminate_group(self.process.pid, grace_seconds=self.grace_seconds, process=self.process)

    def finish(self, status: str, *, reason: str | None = None, stop_reason: str | None = None) -> Outcome:
        """Read the last metric lines and judge the run's end.

        ``status`` is what the caller saw (``Completed`` when the process exited 0 or reached
        its resource budget, ``Failed``, ``Stopped``). A completed run without a finite
        objective value is Failed, with the reason.
        """
        self.reader.finish()
        self._notify()
        objective = self.reader.final_objective
        metric = self.request.objective_metric
        if status == "Completed":
            if objective is None:
                status, reason = (
                    "Failed",
                    f"no value of the objective metric {metric!r} was found in the trial's output "
                    "(check the metric regex and that the entry point prints it)",
                )
            elif not math.isfinite(objective):
                status, reason = "Failed", f"the objective {metric!r} is {objective}"
        kept = objective if status != "Failed" and objective is not None and math.isfinite(objective) else None
        return Outcome(status, reason, kept, stop_reason)

    def stopped(self, status: str, stop_reason: str | None) -> Outcome:
        """Judge a run the caller ended (``terminate``) as ``status``, unless it had already
        finished by itself (its entry point exited 0 before the signal): then it is Completed,
        with every value it printed, as it truly ended."""
        if self.exit_code() == 0:
            return self.finish("Completed")
        return self.finish(status, stop_reason=stop_reason)

    def exited(self) -> Outcome | None:
        """The outcome if the process has exited (0: Completed, else Failed with the reason), else ``None``."""
        code = self.exit_code()
        if code is None:
            return None
        if code == 0:
            return self.finish("Completed")
        return self.finish("Failed", reason=failure_reason(self.launch.folder, code))

    def runtime_exceeded(self) -> Outcome:
        """Terminate a run that ran over its ``MaxRuntimeInSeconds``; it is Failed."""
        limit = self.request.TrainingJobDefinition.StoppingCondition.MaxRuntimeInSeconds
        self.terminate()
        return self.finish(
            "Failed", reason=f"MaxRuntimeExceeded: the trial ran longer than {limit} s (StoppingCondition)"
        )

    def run_to_end(self, poll_seconds: float = 0.2) -> Outcome:
        """Watch the run until it ends (or runs out of time); Ctrl-C terminates it and re-raises."""
        try:
            while True:
                self.poll()
                outcome = self.exited()
                if outcome is not None:
                    return outcome
                if self.over_runtime():
                    return self.runtime_exceeded()
                time.sleep(poll_seconds)
        except BaseException:
            self.terminate()
            raise

    def _notify(self) -> None:
        if self.on_metric is None:
            return
        for name, values in self.reader.series.items():
            for value in values[self._seen.get(name, 0) :]:
                self.on_metric(name, value)
            self._seen[name] = len(values)


def apply_outcome(record: TrialRecord, outcome: Outcome, ended: datetime | None = None) -> None:
    """Write ``outcome`` into ``record`` (status, reason, objective), as the coordinator does."""
    record.TrainingJobStatus = outcome.status  # type: ignore[assignment]  # validated on assignment
    record.FailureReason = outcome.reason
    record.Pid = record.PidStarted = None
    record.EndingAs = None
    if outcome.stop_reason:
        record.StopReason = outcome.stop_reason
    elif outcome.status in ("Completed", "Failed"):
        record.StopReason = None  # it was being stopped, but ended by itself first
    if outcome.objective is not None:
        record.FinalObjectiveValue = outcome.objective
        record.ObjectiveStatus = "Succeeded"
    else:
        record.ObjectiveStatus = "Failed" if outcome.status in ("Completed", "Failed") else "Pending"
    if ended is not None:
        record.TrainingEndTime = ended
