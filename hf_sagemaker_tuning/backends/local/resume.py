"""What a coordinator does when it starts on a job another coordinator left: the resume side.

``Resume`` is a mixin of ``Coordinator`` (coordinator.py): before launching anything, a
coordinator adopts what a killed one left running or finished, picks up trials it recorded
without a pid, finishes trials it was ending, re-queues interrupted ones and ends every
other process of the job. The checks of a crashed job's folder are in recovery.py, the
adoption of one trial's process in adoption.py.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ... import _process
from .adoption import Running, adopt_running, ended_meanwhile, optuna_trial
from .jobs import JobFolder
from .recovery import end_group, ended_at, launch_of, orphan_groups, outcome_on_disk
from .runner import Outcome, TrialRun
from .slots import Slot
from .state import JobState, LocalOptions, TrialRecord
from .study import reconcile, requeue, trial_state
from .trial import terminate

if TYPE_CHECKING:  # pragma: no cover
    import optuna

    from ...compile.request import TuningJobRequest

log = logging.getLogger("hf_sagemaker_tuning.local")


class Resume:
    """The resume-time methods of ``Coordinator``; it provides the attributes and methods declared here."""

    folder: JobFolder
    options: LocalOptions
    request: TuningJobRequest
    slots: list[Slot]
    running: dict[str, Running]

    if TYPE_CHECKING:  # pragma: no cover - Coordinator's own, declared for the type checker

        def _state(self) -> JobState: ...

        def _save_state(self, **changes: Any) -> None: ...

        def _write_end(self, record: TrialRecord, outcome: Outcome, ended: datetime | None = None) -> None: ...

        def _close(
            self, running: Running, study: optuna.Study, outcome: Outcome, ended: datetime | None = None
        ) -> None: ...

        def _start(
            self,
            study: optuna.Study,
            record: TrialRecord,
            trial: optuna.trial.Trial,
            slot: int,
            known_steps: set[int] | None = None,
        ) -> None: ...

    def _recover(self, study: optuna.Study) -> None:
        """Before launching anything: adopt what a killed coordinator left running or finished,
        re-queue what was interrupted, end every other process of the job, record every trial."""
        records = self.folder.trial_records()
        names = list(self._state().Trials or [])
        names += [r.TrainingJobName for r in records if r.TrainingJobName not in set(names)]
        self._save_state(Trials=names)
        for name in reconcile(study, records):
            log.info("told the study how %s ended (its coordinator was killed before it could)", name)
        for record in records:
            if record.Superseded or not record.unfinished:
                continue
            if record.TrainingJobStatus == "InProgress" and (
                self._adopt_running(study, record)
                or self._adopt_finished(study, record)
                or self._pick_up(study, record)
            ):
                continue
            if record.TrainingJobStatus == "Stopping" and record.EndingAs is not None:
                self._finish_stopping(study, record)
                continue
            requeue(study, self.folder, self.request, record, self.options.grace_seconds)
        owned = {running.trial.number for running in self.running.values()}
        for stale in study.get_trials(deepcopy=False, states=(trial_state("RUNNING"),)):
            if stale.number not in owned:  # asked for by a killed coordinator, never launched
                study.tell(stale.number, state=trial_state("FAIL"))
        watched = {running.run.pid for running in self.running.values()}
        for group, members in orphan_groups(self.folder).items():
            if group not in watched:
                log.info("ending an orphaned trial process group %d", group)
                end_group(group, members, self.options.grace_seconds)

    def _adopt_running(self, study: optuna.Study, record: TrialRecord) -> bool:
        used = {r.slot for r in self.running.values()}
        grace = self.options.grace_seconds
        running = adopt_running(study, self.request, self.folder, record, self.slots, used, grace)
        if running is None:
            return False
        self.running[record.TrainingJobName] = running
        log.info("adopted %s: still running (pid %s)", record.TrainingJobName, record.Pid)
        return True

    def _adopt_finished(self, study: optuna.Study, record: TrialRecord) -> bool:
        running = ended_meanwhile(study, self.request, self.folder, record)
        outcome = None if running is None else running.run.exited()
        if running is not None and outcome is not None:
            self._close(running, study, outcome, ended_at(self.folder, record))
            log.info("adopted %s: it ended while no coordinator ran", record.TrainingJobName)
            return True
        # The study already knows how it ended (a coordinator before this version told it
        # before writing trial.json, and was killed in between): the trial's files say it too.
        told = study.get_trials(deepcopy=False)
        number = record.TrialNumber
        if number is None or number >= len(told) or not told[number].state.is_finished():
            return False
        if outcome_on_disk(self.folder, self.request, record) is None:
            return False
        run = TrialRun.adopt(self.request, launch_of(self.folder, record), _process.ProcessRef(0))
        outcome = run.exited()
        if outcome is None:  # pragma: no cover - outcome_on_disk just read the same exit status
            return False
        record.Metrics = run.series
        self._write_end(record, outcome, ended_at(self.folder, record))
        log.info("adopted %s: it ended and the study knew it; trial.json now says so", record.TrainingJobName)
        return True

    def _pick_up(self, study: optuna.Study, record: TrialRecord) -> bool:
        """A trial its killed coordinator recorded without a pid: watch its process (found by its
        folder in ``SAGEMAKER_BASE_DIR``), or start it when it never started. ``False``: re-run it."""
        found = optuna_trial(study, record)
        if record.Pid is not None or found is None:
            return False
        trial_dir = self.folder.trial_dir(record.TrainingJobName)
        for group, members in orphan_groups(self.folder).items():
            leader = next((m for m in members if m.pid == group), None)
            if leader is not None and _process.environ_value(leader.pid, "SAGEMAKER_BASE_DIR") == str(
                trial_dir.resolve()
            ):
                record.Pid, record.PidStarted = leader.pid, leader.started
                self.folder.write_trial(record)
                return self._adopt_running(study, record)
        log_file = trial_dir / "log.txt"
        if log_file.is_file() and log_file.stat().st_size > 0:
            return False  # it ran and is gone without an exit status: interrupted
        used = {r.slot for r in self.running.values()}
        free = [i for i in range(len(self.slots)) if i not in used]
        wanted = (None if record.Device == "cpu" else record.Device, record.Threads)
        slot = next((i for i in free if self.slots[i] == wanted), free[0] if free else None)
        if slot is None:
            return False
        log.info("starting %s: its coordinator was killed before it started it", record.TrainingJobName)
        self._start(study, record, found[0], slot, found[1])
        return True

    def _finish_stopping(self, study: optuna.Study, record: TrialRecord) -> None:
        """End a trial the killed coordinator was ending (early stopping, Hyperband), as it meant to."""
        if record.Pid:
            terminate(record.Pid, grace_seconds=self.options.grace_seconds, started=record.PidStarted)
        run = TrialRun.adopt(self.request, launch_of(self.folder, record), _process.ProcessRef(record.Pid or 0))
        outcome = run.stopped(record.EndingAs or "Stopped", record.StopReason)
        record.Metrics = run.series
        self._write_end(record, outcome, ended_at(self.folder, record))
        reconcile(study, [record])
        log.info(
            "finished %s as %s: its coordinator was ending it when it was killed",
            record.TrainingJobName,
            outcome.status,
        )
