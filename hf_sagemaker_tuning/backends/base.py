"""The one narrow backend interface: the only door to a tuning job.

A backend answers in SageMaker's own shapes: ``describe`` like
``DescribeHyperParameterTuningJob``, ``list_trials`` like the ``TrainingJobSummaries`` of
``ListTrainingJobsForHyperParameterTuningJob`` and ``describe_training`` like
``DescribeTrainingJob``, so one analytics module, one retrain and one deploy path serve
every backend. Public methods keep the lifecycle rules in one place; implementations fill
in the ``_hooks`` (as Syne Tune's trial backends do). Results, refine, deploy, the CLI and
the ``TuningJob`` object reach a job through nothing else.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import BackendError

if TYPE_CHECKING:  # pragma: no cover
    from ..compile.request import TuningJobRequest
    from ..specs import TuningJobSpec

#: Tuning-job states, as SageMaker spells them.
JOB_TERMINAL = ("Completed", "Failed", "Stopped")
JOB_STATES = ("InProgress", "Stopping", *JOB_TERMINAL)
#: Training-job (trial) states, as SageMaker spells them.
TRIAL_STATES = ("InProgress", "Completed", "Failed", "Stopping", "Stopped")
TRAINING_TERMINAL = ("Completed", "Failed", "Stopped")


@dataclass(frozen=True)
class ModelArtifact:
    """A trained model a job produced, and where it is.

    Attributes:
        training_job_name: the trial (or retrain run) that trained it.
        location: a local model folder, or the ``s3://.../model.tar.gz`` of a SageMaker training job.
        source: ``"trial"`` (the tuning job's best trial) or ``"retrain"`` (a later, longer run).
        objective: the objective value the run reported for the kept model, when known.
        training_image: the image that trained it (SageMaker), used to pick a serving image.
        kept: which checkpoint the run kept, in words (e.g. ``"last evaluation (step 120)"``), when known.
    """

    training_job_name: str
    location: str
    source: str = "trial"
    objective: float | None = None
    training_image: str | None = None
    kept: str | None = None

    @property
    def is_local(self) -> bool:
        return not self.location.startswith("s3://")

    @property
    def summary(self) -> str:
        """Which model this is, in words: ``retrain NAME (kept: ...; objective ...)`` or ``trial NAME (...)``."""
        details = []
        if self.kept:
            details.append(f"kept: {self.kept}")
        if self.objective is not None:
            details.append(f"objective {self.objective:.6g}")
        return f"{self.source} {self.training_job_name}" + (f" ({'; '.join(details)})" if details else "")


class Backend(ABC):
    """Runs a compiled tuning job somewhere and reports on it in SageMaker's shapes."""

    #: Short name used by the CLI (``--backend NAME``).
    name: str = ""

    # ------------------------------------------------------------------ the tuning job
    def submit(self, request: TuningJobRequest, spec: TuningJobSpec | None = None) -> str:
        """Start the tuning job described by ``request``; return its name (does not wait).

        ``spec``, when given, is kept with the job (``spec(job)`` gives it back), so the job
        can be narrowed or reported on later from any process.
        """
        return self._submit(request, spec)

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
        """Block until the job reaches a terminal state; return its final description.

        Raises:
            BackendError: the job did not end within ``timeout`` seconds (it keeps running).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            answer = self.describe(job)
            if answer["HyperParameterTuningJobStatus"] in JOB_TERMINAL:
                return answer
            if deadline is not None and time.monotonic() > deadline:
                raise BackendError(f"tuning job {job!r} did not finish within {timeout} s (it is still running)")
            time.sleep(poll_seconds)

    def resume(self, job: str) -> str:
        """Continue a stopped or interrupted job; return the name of the job to follow.

        The local backend continues the same job (finished trials are kept); SageMaker
        cannot restart a tuning job, so its backend starts a new one that warm-starts
        from ``job`` with the trials still left in the budget.
        """
        return self._resume(job)

    def metric_history(self, job: str, trial: str) -> dict[str, list[float]]:
        """Every value of every metric one trial emitted, in order (learning curves)."""
        return self._metric_history(job, trial)

    def spec(self, job: str) -> TuningJobSpec | None:
        """The spec the job was submitted with, when one was kept (``None`` otherwise)."""
        return self._spec(job)

    # ------------------------------------------------------------------ models and training jobs
    def best_model(self, job: str) -> ModelArtifact:
        """The model to serve for ``job``: the newest completed retrain, else the best trial's.

        Raises:
            BackendError: the job has no completed trial with a model yet.
        """
        return self._best_model(job)

    def start_training(
        self,
        job: str,
        hyperparameters: Mapping[str, str],
        *,
        name: str | None = None,
        channels: Mapping[str, str] | None = None,
    ) -> str:
        """Run one training job like the job's trials, with these hyperparameters (e.g. a retrain).

        The run belongs to ``job``: ``best_model(job)`` picks it up once it completes (when it
        leaves a model). Returns the training job's name. SageMaker returns at once; the local
        backend runs it to the end before returning (follow it with ``describe_training``).

        Args:
            job: the tuning job.
            hyperparameters: every hyperparameter of the run (``sagemaker_*`` keys included).
            name: the training job's name (default: a unique one).
            channels: input channels, name -> URI (a local folder or ``file://`` URI on the local
                backend, ``s3://`` on SageMaker), added to the job's channels; a name the job
                already has is replaced, and an empty URI removes that channel. E.g. ``test``
                and ``model`` for an evaluation run.
        """
        if channels is None:
            return self._start_training(job, dict(hyperparameters), name)
        return self._start_training(job, dict(hyperparameters), name, channels=dict(channels))

    def describe_training(self, job: str, training: str) -> dict[str, Any]:
        """A training job started by ``start_training``, as ``DescribeTrainingJob`` answers.

        Keys: ``TrainingJobName``, ``TrainingJobStatus``, ``HyperParameters``, and when known
        ``FailureReason``, ``FinalMetricDataList`` and ``ModelArtifacts.S3ModelArtifacts``
        (a local folder on the local backend).
        """
        return self._describe_training(job, training)

    def wait_training(
        self, job: str, training: str, *, poll_seconds: float = 5.0, timeout: float | None = None
    ) -> dict[str, Any]:
        """Block until a training job from ``start_training`` ends; return ``describe_training``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            answer = self.describe_training(job, training)
            if answer["TrainingJobStatus"] in TRAINING_TERMINAL:
                return answer
            if deadline is not None and time.monotonic() > deadline:
                raise BackendError(f"training job {training!r} did not finish within {timeout} s (it is still running)")
            time.sleep(poll_seconds)

    # ------------------------------------------------------------------ hooks
    @abstractmethod
    def _submit(self, request: TuningJobRequest, spec: TuningJobSpec | None) -> str: ...

    @abstractmethod
    def _describe(self, job: str) -> dict[str, Any]: ...

    @abstractmethod
    def _list_trials(self, job: str) -> list[dict[str, Any]]: ...

    @abstractmethod
    def _stop(self, job: str) -> None: ...

    @abstractmethod
    def _logs(self, job: str, trial: str) -> str: ...

    @abstractmethod
    def _resume(self, job: str) -> str: ...

    @abstractmethod
    def _metric_history(self, job: str, trial: str) -> dict[str, list[float]]: ...

    @abstractmethod
    def _spec(self, job: str) -> TuningJobSpec | None: ...

    @abstractmethod
    def _best_model(self, job: str) -> ModelArtifact: ...

    @abstractmethod
    def _start_training(
        self, job: str, hyperparameters: dict[str, str], name: str | None, channels: dict[str, str] | None = None
    ) -> str: ...

    @abstractmethod
    def _describe_training(self, job: str, training: str) -> dict[str, Any]: ...


def merge_channels(input_data_config: list[dict[str, Any]], channels: Mapping[str, str]) -> list[dict[str, Any]]:
    """A job's ``InputDataConfig`` with ``channels`` (name -> URI) added, replaced, or removed (an empty URI).

    A new channel is shaped like the job's first one (an ``S3Prefix`` data source), so a URI
    naming one object (``.../model.tar.gz``) is downloaded as that one file.
    """
    merged: list[dict[str, Any]] = []
    for channel in input_data_config:
        name = channel["ChannelName"]
        if name not in channels:
            merged.append(channel)
        elif channels[name]:
            merged.append(_with_uri(channel, channels[name]))
    known = {c["ChannelName"] for c in input_data_config}
    template = input_data_config[0] if input_data_config else {"ChannelName": ""}
    for name, uri in channels.items():
        if name not in known and uri:
            merged.append({**_with_uri(template, uri), "ChannelName": name})
    return merged


def _with_uri(channel: dict[str, Any], uri: str) -> dict[str, Any]:
    source = dict((channel.get("DataSource") or {}).get("S3DataSource") or {})
    source.update(S3DataType="S3Prefix", S3Uri=uri)
    source.setdefault("S3DataDistributionType", "FullyReplicated")
    return {**channel, "DataSource": {"S3DataSource": source}}
