"""Adopting what a killed coordinator left behind: trials still running, and trials that ended meanwhile.

A resumed coordinator keeps watching a trial whose process outlived its predecessor (through
the recorded pid and start time) and keeps the result of one that ended while no coordinator
ran (from the ``exit.json`` its wrapper left and its log). Each keeps its name, its optuna
trial and the intermediate values already reported; nothing is started again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ... import _process
from .jobs import JobFolder, now
from .recovery import launch_of
from .runner import TrialRun
from .slots import Slot
from .state import TrialRecord
from .study import trial_state
from .trial import EXIT_FILE

if TYPE_CHECKING:  # pragma: no cover
    import optuna

    from ...compile.request import TuningJobRequest


@dataclass
class Running:
    """A trial in flight: its record, its optuna trial, its process and its slot."""

    record: TrialRecord
    trial: optuna.trial.Trial
    run: TrialRun
    slot: int
    #: Steps already reported to optuna (an adopted trial's log is read again from the start).
    known_steps: set[int] = field(default_factory=set)

    def report(self, value: float, step: int) -> None:
        """Report one intermediate value to optuna, once per step."""
        if math.isfinite(value) and step not in self.known_steps:
            self.trial.report(value, step=step)
            self.known_steps.add(step)


def optuna_trial(study: optuna.Study, record: TrialRecord) -> tuple[optuna.trial.Trial, set[int]] | None:
    """The record's optuna trial while it is still running there, and the steps it reported."""
    import optuna

    trials = study.get_trials(deepcopy=False)
    number = record.TrialNumber
    if number is None or number >= len(trials) or trials[number].number != number:
        return None
    frozen = trials[number]
    if frozen.state != trial_state("RUNNING"):
        return None
    return optuna.trial.Trial(study, frozen._trial_id), set(frozen.intermediate_values)


def adopt_running(
    study: optuna.Study,
    request: TuningJobRequest,
    folder: JobFolder,
    record: TrialRecord,
    slots: list[Slot],
    used: set[int],
    grace_seconds: float,
) -> Running | None:
    """Watch a trial whose process outlived its coordinator, in a free slot (``None``: it cannot be)."""
    if not (record.Pid and _process.is_alive(record.Pid, record.PidStarted)):
        return None
    found = optuna_trial(study, record)
    free = [i for i in range(len(slots)) if i not in used]
    wanted = (None if record.Device == "cpu" else record.Device, record.Threads)
    slot = next((i for i in free if slots[i] == wanted), free[0] if free else None)
    if found is None or slot is None:
        return None
    started = record.TrainingStartTime or now()
    run = TrialRun.adopt(
        request,
        launch_of(folder, record),
        _process.ProcessRef(record.Pid, record.PidStarted),
        running_seconds=(now() - started).total_seconds(),
        grace_seconds=grace_seconds,
    )
    return Running(record, found[0], run, slot, found[1])


def ended_meanwhile(
    study: optuna.Study, request: TuningJobRequest, folder: JobFolder, record: TrialRecord
) -> Running | None:
    """A trial that ended while no coordinator ran (it left ``exit.json``), its log read to the end."""
    if record.Pid and _process.is_alive(record.Pid, record.PidStarted):
        return None
    found = optuna_trial(study, record)
    if found is None or not (folder.trial_dir(record.TrainingJobName) / EXIT_FILE).is_file():
        return None
    run = TrialRun.adopt(request, launch_of(folder, record), _process.ProcessRef(record.Pid or 0, record.PidStarted))
    running = Running(record, found[0], run, -1, found[1])
    for step, value in enumerate(run.poll(), 1):
        running.report(value, step)
    run.reported = len(run.series.get(request.objective_metric, []))
    return running
