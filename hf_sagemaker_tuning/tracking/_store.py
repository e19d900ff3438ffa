"""MLflow, through ``MlflowClient`` only: runs found by their tags, and writes that can be repeated.

Every write here is idempotent, so live logging and ``hfst track`` (after the fact) can both run,
in any order and any number of times, and leave one tree: a run is found by its ``hfst.*`` tags
before one is created; params already logged are not logged again (MLflow refuses a changed
value); a metric's history is only extended past the values already there; artifacts are
overwritten in place; a model version is registered once per (run, model).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..specs.tracking import local_store_uri, tracking_uri_kind

__all__ = ["JOB_TAG", "KIND_TAG", "RUN_TAG", "MlflowStore"]

#: The tags that identify a run of the tree (a tuning job's name, a trial's or run's name, its kind).
JOB_TAG = "hfst.job"
RUN_TAG = "hfst.run"
KIND_TAG = "hfst.kind"
#: MLflow's limits: a param value's length, and entries per ``log_batch``.
_PARAM_LENGTH = 6000
_BATCH = 900
_METRIC_NAME = re.compile(r"[^A-Za-z0-9_\-. /]")
#: MLflow run statuses by SageMaker training-job status.
STATUS = {
    "InProgress": "RUNNING",
    "Stopping": "RUNNING",
    "Completed": "FINISHED",
    "Failed": "FAILED",
    "Stopped": "KILLED",
}


def metric_key(name: str) -> str:
    """A metric name MLflow accepts (a custom metric definition may hold any character)."""
    return _METRIC_NAME.sub("_", name)[:250] or "metric"


class MlflowStore:
    """One MLflow experiment, reached through ``MlflowClient``.

    Args:
        tracking_uri: a local folder, an ``http(s)://`` server, or a SageMaker MLflow ARN.
        experiment: the experiment's name (made when missing).
    """

    def __init__(self, tracking_uri: str, experiment: str):
        # An unreachable server must cost one short wait, not MLflow's default of minutes of retries.
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")
        from mlflow import MlflowClient

        artifacts = None
        uri = tracking_uri
        if tracking_uri_kind(tracking_uri) == "path":
            uri, artifacts = local_store_uri(tracking_uri)
            Path(tracking_uri).expanduser().mkdir(parents=True, exist_ok=True)
        elif tracking_uri_kind(tracking_uri) == "arn":
            # sagemaker-mlflow signs and routes by the *global* tracking URI, not the client's.
            import mlflow

            mlflow.set_tracking_uri(uri)
        self.tracking_uri = uri
        self.client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        found = self.client.get_experiment_by_name(experiment)
        if found is not None:
            self.experiment_id = str(found.experiment_id)
        else:
            try:
                self.experiment_id = str(self.client.create_experiment(experiment, artifact_location=artifacts))
            except Exception:  # made meanwhile by another process (a trial in another container)
                again = self.client.get_experiment_by_name(experiment)
                if again is None:
                    raise
                self.experiment_id = str(again.experiment_id)

    # ------------------------------------------------------------------ runs
    def find_run(self, job: str, run: str | None) -> str | None:
        """The id of the run tagged with this job (and run name; ``None``: the job's parent run)."""
        query = f"tags.`{JOB_TAG}` = '{_quote(job)}'"
        query += f" AND tags.`{RUN_TAG}` = '{_quote(run)}'" if run else f" AND tags.`{KIND_TAG}` = 'job'"
        found = self.client.search_runs(
            [self.experiment_id], filter_string=query, max_results=50, order_by=["attributes.start_time ASC"]
        )
        ordered = sorted(found, key=lambda r: (r.info.start_time or 0, r.info.run_id))
        return str(ordered[0].info.run_id) if ordered else None

    def run(
        self,
        job: str,
        run: str | None,
        kind: str,
        *,
        parent: str | None = None,
        name: str | None = None,
        start: object = None,
    ) -> str:
        """The run of ``job`` named ``run`` (``None``: the job's parent run), made when missing.

        ``start`` (a datetime or ISO 8601 text from the backend's records) is the run's start time,
        so a run written after the fact (``hfst track``) shows when the work really ran; ``None``:
        now. Two processes that make it at once (trials starting together) both keep the earliest
        run: the later one deletes its own.
        """
        existing = self.find_run(job, run)
        if existing is not None:
            return existing
        tags = {JOB_TAG: job, KIND_TAG: kind, **({RUN_TAG: run} if run else {})}
        if parent is not None:
            tags["mlflow.parentRunId"] = parent
        made = str(
            self.client.create_run(
                self.experiment_id, start_time=epoch_ms(start), tags=tags, run_name=name or run or job
            ).info.run_id
        )
        winner = self.find_run(job, run) or made
        if winner != made:
            self.client.delete_run(made)
        return winner

    def status(self, run_id: str, status: str, end: object = None) -> None:
        """Set a run's status from a SageMaker status (``Completed`` -> ``FINISHED``...).

        ``end``: when the work ended (a datetime or ISO 8601 text; ``None``: now).
        """
        wanted = STATUS.get(status, "RUNNING")
        if self.client.get_run(run_id).info.status == wanted:
            return
        if wanted == "RUNNING":
            self.client.update_run(run_id, status="RUNNING")
        else:
            self.client.set_terminated(run_id, status=wanted, end_time=epoch_ms(end))

    # ------------------------------------------------------------------ data
    def params(self, run_id: str, params: Mapping[str, str]) -> None:
        """Log the params the run does not have yet (MLflow refuses to change a logged one)."""
        from mlflow.entities import Param

        have = self.client.get_run(run_id).data.params
        new = [Param(k, str(v)[:_PARAM_LENGTH]) for k, v in sorted(params.items()) if k not in have]
        for start in range(0, len(new), 100):
            self.client.log_batch(run_id, params=new[start : start + 100])

    def tags(self, run_id: str, tags: Mapping[str, str | None]) -> None:
        """Set tags (a ``None`` value is left out); setting a tag again replaces it."""
        from mlflow.entities import RunTag

        batch = [RunTag(k, str(v)[:_PARAM_LENGTH]) for k, v in sorted(tags.items()) if v is not None]
        if batch:
            self.client.log_batch(run_id, tags=batch)

    def metric(self, run_id: str, key: str, values: Sequence[float], steps: Sequence[int]) -> None:
        """Extend one metric's history to ``values`` (at ``steps``): only the values past those logged."""
        from mlflow.entities import Metric

        name = metric_key(key)
        logged = len(self.client.get_metric_history(run_id, name))
        stamp = _now_ms()
        new = [
            Metric(name, float(v), stamp + i, int(s))
            for i, (v, s) in enumerate(zip(values[logged:], steps[logged:], strict=False))
            if not math.isnan(float(v))
        ]
        for start in range(0, len(new), _BATCH):
            self.client.log_batch(run_id, metrics=new[start : start + _BATCH])

    def text(self, run_id: str, text: str, path: str) -> None:
        """Write one text artifact (replacing one at ``path``)."""
        self.client.log_text(run_id, text, path)

    def artifact_file(self, run_id: str, file: Path, folder: str | None = None) -> None:
        """Upload one file as an artifact (replacing one of the same name)."""
        self.client.log_artifact(run_id, str(file), folder)

    def artifact_dir(self, run_id: str, folder: Path, path: str) -> None:
        """Upload a folder's files as artifacts under ``path``."""
        self.client.log_artifacts(run_id, str(folder), path)

    # ------------------------------------------------------------------ registry
    def register(self, name: str, run_id: str, source: str, location: str) -> str:
        """Register ``source`` (from run ``run_id``) as a version of ``name``, once; return its version."""
        from mlflow.exceptions import MlflowException

        try:
            self.client.get_registered_model(name)
        except MlflowException:
            try:
                self.client.create_registered_model(name)
            except MlflowException:  # registered meanwhile
                self.client.get_registered_model(name)
        for version in self.client.search_model_versions(f"name = '{_quote(name)}'"):
            if version.run_id == run_id and (version.tags or {}).get("hfst.model_location") == location:
                return str(version.version)
        made = self.client.create_model_version(name, source, run_id=run_id, tags={"hfst.model_location": location})
        return str(made.version)


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)


def epoch_ms(moment: object) -> int | None:
    """Milliseconds since the epoch, as MLflow keeps times, from a datetime or ISO 8601 text.

    ``None`` (and anything unreadable) gives ``None``: MLflow then uses the current time. A time
    without a zone is taken as UTC (the records are written in UTC).
    """
    from datetime import datetime, timezone

    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
        except ValueError:
            return None
    if not isinstance(moment, datetime):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1000)
