"""``TuningJob``: one object for a tuning job on any backend, in the spirit of the SDK the article used.

``tuner.fit()`` is ``tune(spec)``; ``tuner.analytics().dataframe()`` is ``job.dataframe()``;
``tuner.best_estimator().deploy()`` is ``with job.deploy() as predictor``. Every method goes
through the job's ``Backend`` and the free functions underneath (results, refine, deploy).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BackendError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.figure import Figure

    from ..backends.base import Backend, ModelArtifact
    from ..deploy import Predictor
    from ..evaluate import Evaluation
    from ..refine import RetrainResult
    from ..refine._retrain import Keep
    from ..results import JobResults
    from ..specs import TuningJobSpec
    from ..specs.cross_validation import Selection
    from ..tracking import TrackResult
    from ..trials import Trial

log = logging.getLogger("hf_sagemaker_tuning")


class TuningJob:
    """A tuning job on a backend: follow it, read its results, retrain, narrow and deploy its best model.

    Build one with ``tune(spec, backend=...)`` or ``TuningJob.attach(name_or_folder)``.
    """

    def __init__(self, backend: Backend, job: str, *, spec: TuningJobSpec | None = None):
        self.backend = backend
        #: The job's id on its backend (a local job's folder path, a SageMaker tuning job's name).
        self.id = job
        self._spec = spec

    @classmethod
    def attach(
        cls,
        job: str | os.PathLike[str],
        backend: str | Backend | None = None,
        *,
        spec: TuningJobSpec | None = None,
        jobs_dir: str | os.PathLike[str] = "jobs",
        region: str | None = None,
        boto_session: Any | None = None,
    ) -> TuningJob:
        """An existing job: a local job folder or name, or a SageMaker tuning job name.

        Raises:
            BackendError: no such job.
        """
        from ..backends import resolve_job

        runner, job_id = resolve_job(job, backend, jobs_dir=jobs_dir, region=region, boto_session=boto_session)
        attached = cls(runner, job_id, spec=spec)
        attached.describe()  # fail now, not at the first use, when the job is not there
        return attached

    # ------------------------------------------------------------------ state
    @property
    def name(self) -> str:
        """The tuning job's name."""
        return self.backend.job_name(self.id)

    @property
    def spec(self) -> TuningJobSpec | None:
        """The spec the job was submitted with, when the backend kept it."""
        if self._spec is None:
            self._spec = self.backend.spec(self.id)
        return self._spec

    def describe(self) -> dict[str, Any]:
        """The job as ``DescribeHyperParameterTuningJob`` answers."""
        return self.backend.describe(self.id)

    def status(self) -> str:
        """``InProgress``, ``Stopping``, ``Completed``, ``Failed`` or ``Stopped``."""
        return str(self.describe()["HyperParameterTuningJobStatus"])

    def trials(self) -> list[Trial]:
        """Every trial (``Trial``), oldest first."""
        return self.backend.list_trials(self.id)

    def wait(self, *, progress: bool = True, timeout: float | None = None, poll_seconds: float = 1.0) -> TuningJob:
        """Block until the job ends (with a live view when ``progress``); Ctrl-C stops the job cleanly.

        Raises:
            BackendError: it did not end within ``timeout`` seconds (the job keeps running).
        """
        if progress:
            from rich.console import Console

            from ..backends.progress import follow

            follow(self.backend, self.id, Console(), poll=poll_seconds, timeout=timeout)
        else:
            self.backend.wait(self.id, poll_seconds=poll_seconds, timeout=timeout)
        return self

    def stop(self) -> None:
        """Stop the job; running trials are ended (a local job can be resumed)."""
        self.backend.stop(self.id)

    def resume(self) -> TuningJob:
        """Continue a stopped job; returns the job to follow (on SageMaker, a new warm-started job)."""
        resumed = self.backend.resume(self.id)
        if resumed in (self.id, self.name):  # the same job goes on (local)
            return self
        return TuningJob(self.backend, resumed, spec=self._spec)

    # ------------------------------------------------------------------ results
    def results(self) -> JobResults:
        """The job's results as they are now (table, parameters, curves)."""
        from ..results import load

        return load(self.id, self.backend)

    def dataframe(self) -> pd.DataFrame:
        """One row per trial, AMT's analytics columns (``results_table``)."""
        return self.results().table()

    def best_trial(self) -> dict[str, Any]:
        """The best trial's row of the table, as plain values (``trials.best_trial``'s pick, like ``best_model``).

        Raises:
            BackendError: no trial has an objective value yet.
        """
        from ..results import best_trial

        return best_trial(self.results())

    def plots(self) -> dict[str, Figure]:
        """The report's figures by name: objective, parameters, parallel coordinates, importance, learning curves.

        A figure the trials cannot make (e.g. parameter importance with one completed trial, or
        all trials with the same value; learning curves of a SageMaker job) is left out, with a
        note logged as a warning saying why; the others are returned.
        """
        from ..results import draw_plots

        drawn, skipped = draw_plots(self.results())
        for name, reason in skipped.items():
            log.warning("note: the %s plot is skipped: %s", name.replace("_", " "), reason)
        return drawn

    def report(self, path: str | os.PathLike[str] = "report.html") -> Path:
        """Write the self-contained HTML report; return its path."""
        from ..results import write_report

        return Path(write_report(self.results(), out=path))

    def track(
        self,
        tracking_uri: str | None = None,
        *,
        experiment: str | None = None,
        register_as: str | None = None,
        report: bool = True,
    ) -> TrackResult:
        """Copy the job into MLflow (parent run, one child per trial, retrains, test scores); idempotent.

        Defaults come from the spec's ``tracking:`` section (``hf_sagemaker_tuning.tracking.track``).
        """
        from ..tracking import track

        return track(
            self.id,
            self.backend,
            tracking_uri=tracking_uri,
            experiment=experiment,
            register_as=register_as,
            report=report,
        )

    def evaluate(
        self,
        split: str = "test",
        *,
        model: str | os.PathLike[str] | None = None,
        force: bool = False,
        timeout: float | None = None,
    ) -> Evaluation:
        """Score the best model (or ``model``) once on a prepared split, ``test`` by default.

        Saved with the job: a second call returns the saved score unless ``force``
        (``hf_sagemaker_tuning.evaluate.evaluate``).
        """
        from ..evaluate import evaluate
        from ..tracking import after_run

        evaluation = evaluate(self.id, self.backend, split, model, force, timeout=timeout)
        after_run(self.backend, self.id)  # a tracked job's MLflow tree gets the score (never fails it)
        return evaluation

    # ------------------------------------------------------------------ next steps
    def best_model(self) -> ModelArtifact:
        """The model ``deploy`` serves: the newest completed retrain, else the best trial's."""
        return self.backend.best_model(self.id)

    def retrain(
        self,
        epochs: float | None = None,
        *,
        keep: Keep = "last",
        wait: bool = True,
        allow_running: bool = False,
        refit: bool = False,
        selection: Selection | None = None,
    ) -> RetrainResult:
        """Train the best configuration again (e.g. longer); once completed, ``deploy`` serves it.

        With ``refit=True`` (a cross-validated job) the configuration ``selection`` chooses (default: the
        spec's ``tuning.selection``) is trained on all folds' data for the folds' mean number of steps.

        Raises:
            BackendError: the job is still running (pass ``allow_running=True`` to retrain its best so far).
        """
        from ..refine import retrain

        return retrain(
            self.id,
            self.backend,
            epochs=epochs,
            keep=keep,
            wait=wait,
            allow_running=allow_running,
            refit=refit,
            selection=selection,
        )

    def narrow(self, top: float = 0.2, *, name: str | None = None) -> TuningJobSpec:
        """A new spec with ranges narrowed around the top trials, warm-starting from this job.

        Raises:
            BackendError: the backend kept no spec for this job.
        """
        from ..refine import narrow_spec

        spec = self.spec
        if spec is None:
            raise BackendError(f"no spec was kept with job {self.name!r}; load yours and call narrow_spec()")
        return narrow_spec(spec, self.trials(), parent_job=self.name, fraction=top, name=name)

    @contextmanager
    def deploy(
        self,
        *,
        instance_type: str | None = None,
        role: str | None = None,
        port: int | None = 0,
        threads: int | None = None,
        name: str | None = None,
    ) -> Iterator[Predictor]:
        """Serve the best model and yield a predictor; the endpoint is always undeployed on exit.

        Local jobs get a local endpoint on 127.0.0.1 (``port`` 0: any free port); SageMaker jobs a
        real endpoint (``instance_type``, ``role``: default the job's own execution role). The
        predictor's ``model`` says which model it serves (``predictor.model.summary``: the retrain
        and the checkpoint it kept, or the best trial and its objective).
        """
        artifact = self.best_model()
        if artifact.is_local:
            from ..deploy import deploy_local

            with deploy_local(artifact.location, port=port, name=name, threads=threads) as local:
                predictor = local.predictor()
                predictor.model = artifact
                yield predictor
            return
        from ..deploy import deploy_sagemaker
        from ..deploy._remote import DEFAULT_INSTANCE_TYPE

        cloud = self.backend.cloud
        if cloud is None:
            raise BackendError(f"{artifact.location} is a SageMaker model; deploy it from a SageMaker backend")
        remote = deploy_sagemaker(
            self.id,
            role=role or self.describe()["TrainingJobDefinition"]["RoleArn"],
            region=cloud.region,
            instance_type=instance_type or DEFAULT_INSTANCE_TYPE,
            endpoint_name=name,
            boto_session=cloud.session,
        )
        with remote:
            served = remote.predictor()
            served.model = remote.best or artifact
            yield served

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        return f"TuningJob({self.name!r}, backend={self.backend.name!r})"

    def _repr_html_(self) -> str:
        from ._html import job_html

        return job_html(self.describe(), self.trials())
