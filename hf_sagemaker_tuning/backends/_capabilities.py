"""What a backend can do and where it keeps things: the capability members every ``Backend`` has.

``Backend`` (in ``base``) inherits ``Capabilities``; callers ask these members rather than
check a backend's ``name`` or class. ``ModelArtifact`` and ``CloudContext`` are the answers
some of them give. Kept apart from ``base`` so the job interface reads on its own.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any


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


@dataclass(frozen=True)
class CloudContext:
    """Where a cloud backend runs jobs: what deploying a model next to them needs.

    Attributes:
        region: the AWS region of the jobs.
        session: the ``boto3.Session`` the backend calls AWS with.
    """

    region: str
    session: Any


class Capabilities(ABC):
    """The members that say where a backend runs jobs and how it names and finds things.

    Defaults suit a backend that runs jobs on this machine; ``_local_path`` and
    ``_model_location`` are hooks every backend fills in.
    """

    @property
    def cloud(self) -> CloudContext | None:
        """The cloud account the backend runs jobs in, or ``None`` when jobs run on this machine.

        ``None`` also means: data must be prepared on this machine, nothing is billed, and
        ``start_training`` runs to the end before it returns.
        """
        return None

    def check_writable(self) -> None:
        """Make sure a new job can be kept (``tune`` asks before it prepares any data).

        Raises:
            BackendError: the backend cannot keep a new job, e.g. a jobs folder that is read-only
                or a file; one line naming it. The default has nothing to check.
        """
        return None

    def job_name(self, job: str) -> str:
        """The tuning job's name for display and for naming related things (e.g. a warm start's parent).

        A local job's id may be its folder's path; its name is the folder's name. Never raises:
        it does not ask the service.
        """
        return job

    def local_path(self, uri: str) -> Path | None:
        """The folder or file on this machine that a channel or model ``uri`` names on this backend.

        Returns:
            The path (it may not exist), or ``None`` when the backend keeps it elsewhere
            (``s3://`` on SageMaker).

        Raises:
            BackendError: ``uri`` is not a location this backend can use (e.g. ``s3://`` locally).
        """
        return self._local_path(uri)

    def model_location(self, model: str) -> str:
        """A user-given model (to score or serve) checked for this backend and made absolute.

        Local: a model folder (it must hold a ``config.json``); SageMaker: an ``s3://`` URI.

        Raises:
            BackendError: ``model`` is not a model this backend can use.
        """
        return self._model_location(model)

    @abstractmethod
    def _local_path(self, uri: str) -> Path | None: ...

    @abstractmethod
    def _model_location(self, model: str) -> str: ...
