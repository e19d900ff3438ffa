"""The one narrow backend interface: the only door to a tuning job.

A backend answers in SageMaker's own shapes: ``describe`` like
``DescribeHyperParameterTuningJob`` and ``describe_training`` like ``DescribeTrainingJob``;
``list_trials`` answers typed ``Trial`` objects (read from the ``TrainingJobSummaries`` of
``ListTrainingJobsForHyperParameterTuningJob``), so one analytics module, one retrain and
one deploy path serve every backend. Public methods keep the lifecycle rules in one place;
implementations fill in the ``_hooks`` (as Syne Tune's trial backends do). Results, refine,
deploy, evaluate, the CLI and the ``TuningJob`` object reach a job through nothing else:
what differs between backends (where a model or an evaluation is kept, whether a job runs
in a cloud account) is a method or property here, never a check of ``name`` or of a class.

The contract, method by method, is in the docstrings below; ``testing.backend_contract``
checks it on every backend (as Optuna's ``storages/_base.py`` and its storage test suite do).
Rules that hold for every method:

* ``job`` is the id ``submit`` (or ``resume``) returned, or what ``resolve_job`` gives back.
* A job nobody submitted is a ``TuningError`` (usually ``BackendError``) from every method
  that takes a ``job``; so is a failure to reach the service (``AwsError``).
* Read-after-write: right after ``submit`` returns, ``describe``, ``list_trials`` and
  ``spec`` answer for the job; right after ``stop`` returns, ``describe`` answers
  ``Stopping`` or ``Stopped`` (or the terminal status the job had already reached).
* Reads have no side effects on the job.
"""

from __future__ import annotations

import re
import time
from abc import abstractmethod
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import BackendError
from ..trials import Trial, best_trial
from ._capabilities import Capabilities, CloudContext, ModelArtifact
from .channels import merge_channels

if TYPE_CHECKING:  # pragma: no cover
    from ..compile.request import TuningJobRequest
    from ..specs import TuningJobSpec

#: Tuning-job states, as SageMaker spells them.
JOB_TERMINAL = ("Completed", "Failed", "Stopped")
JOB_STATES = ("InProgress", "Stopping", *JOB_TERMINAL)
#: Training-job (trial) states, as SageMaker spells them.
TRIAL_STATES = ("InProgress", "Completed", "Failed", "Stopping", "Stopped")
TRAINING_TERMINAL = ("Completed", "Failed", "Stopped")

# ``ModelArtifact``, ``CloudContext`` and ``merge_channels`` live in their own modules; they
# are named here too because callers import them from ``backends.base``.
__all__ = [
    "JOB_STATES",
    "JOB_TERMINAL",
    "TRAINING_TERMINAL",
    "TRIAL_STATES",
    "Backend",
    "CloudContext",
    "ModelArtifact",
    "maximize",
    "merge_channels",
]


class Backend(Capabilities):
    """Runs a compiled tuning job somewhere and reports on it in SageMaker's shapes.

    Subclasses set ``name`` and implement the ``_hooks``; the public methods add the rules
    every backend shares (validation of answers, ordering, no-op stops, waiting).
    """

    #: Short name used by the CLI (``--backend NAME``). For display and for choosing a backend
    #: by name only: callers never branch on it (ask a method or property instead).
    name: str = ""

    #: Called with ``(metric, value)`` for every metric line of a ``start_training`` run that
    #: runs on this machine (e.g. to show a retrain's progress); a backend whose runs happen
    #: elsewhere (``cloud`` is not ``None``) never calls it.
    on_metric: Callable[[str, float], None] | None = None

    # ------------------------------------------------------------------ the tuning job
    def submit(self, request: TuningJobRequest, spec: TuningJobSpec | None = None) -> str:
        """Start the tuning job described by ``request``; return its id (does not wait).

        The id is ``request.job_name`` (the local backend also accepts the job's folder
        wherever an id is taken). ``spec``, when given, is kept with the job (``spec(job)``
        gives back an equal spec), so the job can be narrowed or reported on later from any
        process. Right after it returns, ``describe(job)`` answers (status ``InProgress``, or
        already a terminal status).

        Raises:
            TuningError: a job of that name already exists (a name is used once), the request
                is refused, or the training code or spec could not be stored.
        """
        return self._submit(request, spec)

    def describe(self, job: str) -> dict[str, Any]:
        """The job as ``DescribeHyperParameterTuningJob`` answers.

        Guarantees: ``HyperParameterTuningJobStatus`` is one of ``JOB_STATES``; datetimes are
        timezone-aware; ``HyperParameterTuningJobConfig`` and ``TrainingJobDefinition`` are
        those of the request that was submitted. ``BestTrainingJob``, when present, is
        ``best_trial(job)`` as a ``TrainingJobSummary`` (the library's rule in ``trials``); a
        backend may leave it out (SageMaker does, rather than list every trial on each call),
        and a service's own pick is never passed on: ask ``best_trial``. A terminal status
        never changes again, except through ``resume`` on the same job.

        Raises:
            BackendError: no such job, or the backend reported an unknown status.
        """
        answer = self._describe(job)
        status = answer.get("HyperParameterTuningJobStatus")
        if status not in JOB_STATES:
            raise BackendError(f"backend {self.name!r} reported an unknown job status {status!r} for {job!r}")
        return answer

    def list_trials(self, job: str) -> list[Trial]:
        """Every trial the job launched, oldest first (by creation time, then name).

        Guarantees: names are unique; each status is one of ``TRIAL_STATES``; each trial's
        ``hyperparameters`` has exactly the job's tuned parameters, as strings; a completed
        trial has its final ``objective`` (named by ``objective_metric``); trials of a finished
        job are all in a terminal state (``TRAINING_TERMINAL``) and listing them again gives
        the same answer. Runs started by ``start_training`` are not trials.

        Raises:
            BackendError: no such job, or the backend reported a trial twice or an unknown status.
        """
        trials = self._list_trials(job)
        names = [t.name for t in trials]
        if len(set(names)) != len(names):
            raise BackendError(f"backend {self.name!r} listed a trial of {job!r} twice")
        for trial in trials:
            if trial.status not in TRIAL_STATES:
                raise BackendError(
                    f"backend {self.name!r} reported an unknown status {trial.status!r} for trial {trial.name!r}"
                )
        return sorted(trials, key=lambda t: (t.creation_time is None, t.creation_time, t.name))

    def best_trial(self, job: str) -> Trial | None:
        """The job's best trial by the library's one rule (``trials.best_trial``), or ``None`` yet.

        The same trial on every backend for the same trials: ``describe``'s
        ``BestTrainingJob`` (where given), ``best_model`` (without a retrain), results, status
        and retrain all follow it.

        Raises:
            BackendError: no such job.
        """
        return best_trial(self.list_trials(job), maximize(self.describe(job)))

    def stop(self, job: str) -> None:
        """Ask the job to stop; running trials are stopped. Idempotent.

        Stopping a finished job (or one already stopping) is a no-op that changes nothing,
        its trials included. Returns without waiting: ``wait`` then answers ``Stopped``.

        Raises:
            BackendError: no such job.
        """
        if self.describe(job)["HyperParameterTuningJobStatus"] in (*JOB_TERMINAL, "Stopping"):
            return
        self._stop(job)

    def logs(self, job: str, trial: str) -> str:
        """The output of one trial (what its metric regexes were applied to).

        Raises:
            BackendError: no such job, or the trial has no log (yet).
        """
        return self._logs(job, trial)

    def wait(self, job: str, *, poll_seconds: float = 1.0, timeout: float | None = None) -> dict[str, Any]:
        """Block until the job reaches a terminal state; return its final description.

        Raises:
            BackendError: no such job, or it did not end within ``timeout`` seconds (it keeps running).
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
        """Continue a stopped or interrupted job; return the id of the job to follow.

        The local backend continues the same job (finished trials are kept, the budget's
        rest is run); SageMaker cannot restart a tuning job, so its backend starts a new one
        that warm-starts from ``job`` (``IdenticalDataAndAlgorithm``) with the trials still
        left in the budget. Returns without waiting.

        Raises:
            BackendError: no such job, the job is still running, or no trial is left to run.
        """
        return self._resume(job)

    def finished(self, job: str) -> str | None:
        """Why ``job`` has nothing left to resume (e.g. "job X already Completed: nothing to resume"),
        or ``None`` when ``resume`` may be asked (it may still refuse, e.g. a job that is running).

        The default knows of no such job state; the local backend reports a job ended for good.

        Raises:
            BackendError: no such job.
        """
        return None

    def metric_history(self, job: str, trial: str) -> dict[str, list[float]]:
        """Every value of every metric one trial emitted, in order (learning curves).

        The values are what the job's metric definitions read from ``logs(job, trial)``,
        metric by metric, in line order; a completed trial's last objective value is its
        final ``objective``.

        Raises:
            BackendError: no such job or trial.
        """
        return self._metric_history(job, trial)

    def spec(self, job: str) -> TuningJobSpec | None:
        """The spec the job was submitted with, when one was kept (``None`` otherwise).

        Raises:
            BackendError: no such job.
        """
        return self._spec(job)

    # ------------------------------------------------------------------ models and training jobs
    def best_model(self, job: str) -> ModelArtifact:
        """The model to serve for ``job``: the newest completed retrain, else the best trial's.

        Without a completed retrain it is the model of ``best_trial(job)`` (``source``
        ``"trial"``); a run of the evaluation-only program leaves no model and never counts.

        Raises:
            BackendError: no such job, or it has no completed trial with a model yet.
        """
        return self._best_model(job)

    def trial_artifact(self, job: str | None, trial: str) -> ModelArtifact:
        """The model one completed trial or ``start_training`` run of ``job`` left.

        ``job`` may be ``None`` where the backend can find a training job on its own
        (SageMaker: any training job in the account, e.g. to deploy it alone).

        Raises:
            BackendError: no such job or run, the run did not complete, or it left no model.
        """
        return self._trial_artifact(job, trial)

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
        leaves a model). Returns the training job's name. A cloud backend returns at once;
        the local backend runs it to the end before returning (follow it with ``describe_training``).

        Args:
            job: the tuning job.
            hyperparameters: every hyperparameter of the run (``sagemaker_*`` keys included).
            name: the training job's name (default: a unique one).
            channels: input channels, name -> URI (a local folder or ``file://`` URI on the local
                backend, ``s3://`` on SageMaker), added to the job's channels; a name the job
                already has is replaced, and an empty URI removes that channel. E.g. ``test``
                and ``model`` for an evaluation run.

        Raises:
            BackendError: no such job, a run of that name exists, or the run could not start.
        """
        if channels is None:
            return self._start_training(job, dict(hyperparameters), name)
        return self._start_training(job, dict(hyperparameters), name, channels=dict(channels))

    def describe_training(self, job: str, training: str) -> dict[str, Any]:
        """A training job started by ``start_training`` (or a trial), as ``DescribeTrainingJob`` answers.

        Keys: ``TrainingJobName``, ``TrainingJobStatus``, ``HyperParameters``, and when known
        ``FailureReason``, ``FinalMetricDataList`` and ``ModelArtifacts.S3ModelArtifacts``
        (a local folder on the local backend).

        Raises:
            TuningError: no such job or training job.
        """
        return self._describe_training(job, training)

    def wait_training(
        self, job: str, training: str, *, poll_seconds: float = 5.0, timeout: float | None = None
    ) -> dict[str, Any]:
        """Block until a training job from ``start_training`` ends; return ``describe_training``.

        Raises:
            BackendError: it did not end within ``timeout`` seconds (it keeps running).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            answer = self.describe_training(job, training)
            if answer["TrainingJobStatus"] in TRAINING_TERMINAL:
                return answer
            if deadline is not None and time.monotonic() > deadline:
                raise BackendError(f"training job {training!r} did not finish within {timeout} s (it is still running)")
            time.sleep(poll_seconds)

    # ------------------------------------------------------------------ evaluations kept with a job
    def save_evaluation(self, job: str, key: str, document: str) -> None:
        """Keep one evaluation (a JSON document) with the job under ``key``, replacing one of that key.

        Local jobs keep them in their folder (``evaluations/<key>.json``); SageMaker jobs next
        to their spec in S3 (``<output>/<job>/evaluations/<key>.json``), so any machine sees them.
        ``evaluations(job)`` answers it right after this returns.

        Raises:
            BackendError: no such job, ``key`` is not a plain name, or it could not be stored.
        """
        if not _KEY.fullmatch(key):
            raise BackendError(f"evaluation key {key!r} must be letters, digits, '.', '_' or '-'")
        self._save_evaluation(job, key, document)

    def evaluations(self, job: str) -> dict[str, str]:
        """Every evaluation kept with the job, key -> document, by key (empty when none).

        Raises:
            BackendError: no such job, or the store could not be read.
        """
        return dict(sorted(self._evaluations(job).items()))

    # ------------------------------------------------------------------ hooks
    @abstractmethod
    def _submit(self, request: TuningJobRequest, spec: TuningJobSpec | None) -> str: ...

    @abstractmethod
    def _describe(self, job: str) -> dict[str, Any]: ...

    @abstractmethod
    def _list_trials(self, job: str) -> list[Trial]: ...

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
    def _trial_artifact(self, job: str | None, trial: str) -> ModelArtifact: ...

    @abstractmethod
    def _start_training(
        self, job: str, hyperparameters: dict[str, str], name: str | None, channels: dict[str, str] | None = None
    ) -> str: ...

    @abstractmethod
    def _describe_training(self, job: str, training: str) -> dict[str, Any]: ...

    @abstractmethod
    def _save_evaluation(self, job: str, key: str, document: str) -> None: ...

    @abstractmethod
    def _evaluations(self, job: str) -> dict[str, str]: ...


#: What an evaluation key may be (it becomes a file or object name).
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def maximize(description: Mapping[str, Any]) -> bool:
    """Whether a ``DescribeHyperParameterTuningJob`` answer's objective is maximized."""
    objective = (description.get("HyperParameterTuningJobConfig") or {}).get("HyperParameterTuningJobObjective") or {}
    return bool(objective.get("Type", "Maximize") == "Maximize")
