"""The coordinator's test hook: SIGKILL itself at an exact step, so chaos tests do not rely on timing.

``HFST_TEST_KILL_AT=<checkpoint>[@<n>]`` makes a coordinator started by ``run_coordinator.main``
(never one run inside another process, which would kill that process) SIGKILL itself the n-th
time (default: the first) it reaches that checkpoint. On a loaded machine a kill sent after a
delay lands where it lands; a checkpoint lands where it is named.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass, field

#: Where ``HFST_TEST_KILL_AT`` can kill a coordinator: every step of a trial's launch and end.
CHECKPOINTS = (
    "started",  # the lock is held and job.json says InProgress; nothing else done
    "launch.asked",  # optuna handed out a trial; no trial.json yet
    "launch.recorded",  # trial.json written; no process yet
    "launch.started",  # the process runs; its pid is not recorded yet
    "stop.marked",  # the trial is marked Stopping (with what it ends as); not terminated yet
    "end.judged",  # the trial's outcome is known; nothing written
    "end.recorded",  # trial.json holds the outcome; the study does not know it yet
    "end.told",  # the study knows it too
    "concluding",  # every trial is done; job.json not final yet
)
KILL_AT = "HFST_TEST_KILL_AT"


def kill_point(environ: dict[str, str] | None = None) -> tuple[str, int] | None:
    """``HFST_TEST_KILL_AT`` as (checkpoint, n), or ``None`` (``ValueError`` naming the checkpoints)."""
    value = (os.environ if environ is None else environ).get(KILL_AT, "").strip()
    if not value:
        return None
    name, _, count = value.partition("@")
    if name not in CHECKPOINTS or (count and not count.isdigit()):
        raise ValueError(f"{KILL_AT}={value!r}: expected <checkpoint>[@<n>], checkpoints: {', '.join(CHECKPOINTS)}")
    return name, int(count or 1)


@dataclass
class Checkpoints:
    """Counts the checkpoints a coordinator reaches; kills it at ``kill_at`` (``None``: never)."""

    kill_at: tuple[str, int] | None = None
    passed: dict[str, int] = field(default_factory=dict)

    def reach(self, name: str) -> None:
        """The coordinator reached checkpoint ``name``."""
        if self.kill_at is None or self.kill_at[0] != name:
            return
        self.passed[name] = self.passed.get(name, 0) + 1
        if self.passed[name] == self.kill_at[1]:
            os.kill(os.getpid(), signal.SIGKILL)
