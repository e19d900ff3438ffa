"""The one narrow backend interface: submit, describe, list_trials, stop, logs.

A backend answers in SageMaker's own shapes: ``describe`` like
``DescribeHyperParameterTuningJob`` and ``list_trials`` like the
``TrainingJobSummaries`` of ``ListTrainingJobsForHyperParameterTuningJob``, so one
analytics module serves every backend. Public methods keep the lifecycle rules in
one place; implementations fill in the ``_hooks`` (as Syne Tune's trial backends do).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from ..errors import BackendError

if TYPE_CHECKING:  # pragma: no cover
    from ..compile.request import TuningJobRequest

#: Tuning-job states, as SageMaker spells them.
JOB_TERMINAL = ("Completed", "Failed", "Stopped")
JOB_STATES = ("InProgress", "Stopping", *JOB_TERMINAL)
#: Training-job (trial) states, as SageMaker spells them.
TRIAL_STATES = ("InProgress", "Completed", "Failed", "Stopping", "Stopped")


class Backend(ABC):
    """Runs a compiled tuning job somewhere and reports on it in SageMaker's shapes."""

    #: Short name used by the CLI (``--backend NAME``).
    name: str = ""

    def submit(self, request: TuningJobRequest) -> str:
        """Start the tuning job described by ``request``; return its name (does not wait)."""
        return self._submit(request)

    def describe(self, job: str) -> dict[str, Any]:
        """The job as ``DescribeHyperParameterTuningJob`` answers (datetimes are timezone-aware)."""
        answer = self._describe(job)
        status = answer.get("HyperParameterTuningJobStatus")
        if status not in JOB_STATES:
            raise BackendError(f"backend {self.name!r} reported an unknown job status {status!r} for {job!r}")
        return answer

    def list_trials(self, job: str) -> list[dict[str, Any]]:
        """Every trial as a ``TrainingJobSummary`` (oldest first)."""
        trials = self._list_trials(job)
        return sorted(
            trials, key=lambda t: (t.get("CreationTime") is None, t.get("CreationTime"), t["TrainingJobName"])
        )

    def stop(self, job: str) -> None:
        """Ask the job to stop; running trials are stopped. Stopping a finished job is a no-op."""
        if self.describe(job)["HyperParameterTuningJobStatus"] in JOB_TERMINAL:
            return
        self._stop(job)

    def logs(self, job: str, trial: str) -> str:
        """The output of one trial (what its metric regexes were applied to)."""
        return self._logs(job, trial)

    def wait(self, job: str, *, poll_seconds: float = 1.0, timeout: float | None = None) -> dict[str, Any]:
        """Block until the job reaches a terminal state; return its final description."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            answer = self.describe(job)
            if answer["HyperParameterTuningJobStatus"] in JOB_TERMINAL:
                return answer
            if deadline is not None and time.monotonic() > deadline:
                raise BackendError(f"tuning job {job!r} did not finish within {timeout} s")
            time.sleep(poll_seconds)

    @abstractmethod
    def _submit(self, request: TuningJobRequest) -> str: ...

    @abstractmethod
    def _describe(self, job: str) -> dict[str, Any]: ...

    @abstractmethod
    def _list_trials(self, job: str) -> list[dict[str, Any]]: ...

    @abstractmethod
    def _stop(self, job: str) -> None: ...

    @abstractmethod
    def _logs(self, job: str, trial: str) -> str: ...
