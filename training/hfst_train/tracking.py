"""Tracking from inside the trial: MLflow runs and TensorBoard event files, when the job asks for them.

The job asks through its environment (compiled from the spec's ``tracking:`` section):

* ``HFST_MLFLOW_TRACKING_URI`` (+ ``HFST_MLFLOW_EXPERIMENT``, ``HFST_TRACKING_JOB``, the tuning
  job's name): log this run as a child of the job's parent run, found (or made) by its tags,
  exactly as ``hfst track`` does afterwards, so both leave one tree. Set on SageMaker only: on
  the local backend the coordinator logs instead.
* ``HFST_TENSORBOARD=1``: write event files to ``HFST_TENSORBOARD_DIR`` or
  ``<SM_OUTPUT_DATA_DIR>/tensorboard``.

Neither library is needed to train: when one is missing, or the tracker fails, one line says so
and the trial runs on (``hfst track`` fills the gap later). Imports nothing from hf_sagemaker_tuning
(only this folder travels to SageMaker); the redaction rules repeat hf_sagemaker_tuning.tracking._redact's.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from hfst_train.paths import ContainerPaths

HIDDEN = "***"
_SECRET_NAME = re.compile(
    r"(?:^|[_\-.])(?:secret|token|password|passwd|pwd|passphrase|apikey|api[_\-]?key|access[_\-]?key"
    r"|private[_\-]?key|credentials?|auth|authorization|cookie|session[_\-]?key)(?:$|[_\-.])",
    re.IGNORECASE,
)
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)[^/@\s]+@")
_TOKENS = re.compile(r"\b(?:hf_[A-Za-z0-9]{20,}|(?:AKIA|ASIA)[A-Z0-9]{16}|gh[pousr]_[A-Za-z0-9]{30,})\b")
#: MLflow run statuses by how the run ended.
_STATUS = {"Completed": "FINISHED", "Failed": "FAILED", "Stopped": "KILLED"}


def redact_text(text: str) -> str:
    """``text`` with URI credentials and recognisable tokens replaced by ``***``."""
    return _TOKENS.sub(HIDDEN, _USERINFO.sub(lambda m: f"{m.group('scheme')}{HIDDEN}@", text))


def run_params(hyperparameters: Mapping[str, Any]) -> dict[str, str]:
    """The run's params: the user's hyperparameters as the service passed them, secrets hidden."""
    return {
        str(k): HIDDEN if _SECRET_NAME.search(str(k)) else redact_text(str(v))
        for k, v in hyperparameters.items()
        if not str(k).startswith("sagemaker_") and k != "_tuning_objective_metric"
    }


def _say(text: str) -> None:
    print(f"hfst: {text}", flush=True)


class Tracker:
    """Logs one run's evaluations to MLflow and TensorBoard; a context manager that ends the run.

    Args:
        environ: the process environment.
        hyperparameters: the run's hyperparameters as strings (``input/config/hyperparameters.json``).
        output_data_dir: ``SM_OUTPUT_DATA_DIR`` (TensorBoard files go below it by default).
        main: whether this process logs (rank 0 only under torchrun).
    """

    def __init__(
        self, environ: Mapping[str, str], hyperparameters: Mapping[str, Any], output_data_dir: Path, main: bool = True
    ) -> None:
        self.environ, self.hyperparameters = environ, dict(hyperparameters)
        self.objective_metric = str(self.hyperparameters.get("_tuning_objective_metric", ""))
        self.client: Any = None
        self.run_id: str | None = None
        self.writer: Any = None
        self.last: dict[str, float | int] = {}
        if not main:
            return
        if environ.get("HFST_MLFLOW_TRACKING_URI"):
            self._guard("start", self._start_mlflow)
        if environ.get("HFST_TENSORBOARD") == "1":
            folder = Path(environ.get("HFST_TENSORBOARD_DIR") or output_data_dir / "tensorboard")
            self._guard("start", lambda: self._start_tensorboard(folder))

    # ------------------------------------------------------------------ MLflow
    def _start_mlflow(self) -> None:
        try:
            from mlflow import MlflowClient
        except ImportError:
            _say("MLflow tracking asked for, but mlflow is not installed here: the run is not logged live")
            return
        env = self.environ
        uri = env["HFST_MLFLOW_TRACKING_URI"]
        if not uri.startswith(("http://", "https://", "arn:")):  # a local folder: its SQLite store
            uri = f"sqlite:///{Path(uri).resolve() / 'mlflow.db'}"
        if uri.startswith("arn:"):  # sagemaker-mlflow signs and routes by the global tracking URI
            import mlflow

            mlflow.set_tracking_uri(uri)
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        experiment = env.get("HFST_MLFLOW_EXPERIMENT") or "hfst"
        found = client.get_experiment_by_name(experiment)
        experiment_id = found.experiment_id if found is not None else _made(client, experiment)
        job = env.get("HFST_TRACKING_JOB") or "job"
        name = env.get("TRAINING_JOB_NAME") or env.get("SM_TRAINING_JOB_NAME") or "run"
        parent = _find_or_make(client, experiment_id, job, None, "job", None)
        kind = env.get("HFST_TRACKING_KIND") or "trial"
        self.run_id = _find_or_make(client, experiment_id, job, name, kind, parent)
        self.client = client
        from mlflow.entities import Param, RunTag

        have = client.get_run(self.run_id).data.params
        params = [Param(k, v[:6000]) for k, v in sorted(run_params(self.hyperparameters).items()) if k not in have]
        tags = {
            "backend": "sagemaker",
            "instance_type": env.get("SM_CURRENT_INSTANCE_TYPE") or _instance_type(env),
            "status": "InProgress",
            **({"trial": name} if kind == "trial" else {}),
        }
        client.log_batch(self.run_id, params=params, tags=[RunTag(k, v) for k, v in tags.items() if v])

    def _start_tensorboard(self, folder: Path) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            _say("TensorBoard files asked for, but the tensorboard package is not installed here: none are written")
            return
        folder.mkdir(parents=True, exist_ok=True)
        self.writer = SummaryWriter(log_dir=str(folder))

    def _guard(self, what: str, action: Any) -> None:
        try:
            action()
        except Exception as exc:  # a tracker never fails the run: one line, then it is off
            _say(f"tracking failed ({what}: {type(exc).__name__}: {str(exc)[:300]}); the run goes on without it")
            self.client = self.run_id = None
            if self.writer is not None:
                self.writer.close()
            self.writer = None

    # ------------------------------------------------------------------ each evaluation
    def log(self, entry: Mapping[str, float | int]) -> None:
        """One evaluation's metric line (its ``step`` is the step of every value)."""
        step = int(entry.get("step", 0))
        self.last = dict(entry)
        values = {k: float(v) for k, v in entry.items() if k != "step" and not math.isnan(float(v))}
        if self.client is not None and self.run_id is not None:

            def send() -> None:
                from mlflow.entities import Metric

                stamp = _now_ms()
                metrics = [Metric(_key(k), v, stamp, step) for k, v in sorted(values.items())]
                self.client.log_batch(self.run_id, metrics=metrics)

            self._guard("metrics", send)
        if self.writer is not None:

            def write() -> None:
                for key, value in values.items():
                    self.writer.add_scalar(key, value, step)
                self.writer.flush()

            self._guard("tensorboard", write)

    def end(self, status: str, reason: str | None = None) -> None:
        """End the run: its status, failure reason and final objective."""
        if self.client is not None and self.run_id is not None:
            client, run_id = self.client, self.run_id

            def finish() -> None:
                from mlflow.entities import Metric, RunTag

                objective = self.last.get(self.objective_metric) if self.objective_metric else None
                if objective is not None and math.isfinite(float(objective)):
                    step = int(self.last.get("step", 0))
                    client.log_batch(run_id, metrics=[Metric("objective", float(objective), _now_ms(), step)])
                tags = [RunTag("status", status)]
                if reason:
                    tags.append(RunTag("failure_reason", redact_text(reason)[:5000]))
                client.log_batch(run_id, tags=tags)
                client.set_terminated(run_id, status=_STATUS.get(status, "FINISHED"))

            self._guard("end", finish)
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, _tb: TracebackType | None) -> None:
        if exc is None or (isinstance(exc, SystemExit) and exc.code in (0, None)):
            self.end("Completed")
        else:
            self.end("Failed", f"{type(exc).__name__}: {exc}")


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)


def _key(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_\-. /]", "_", name)[:250] or "metric"


def _instance_type(env: Mapping[str, str]) -> str | None:
    try:
        return str(json.loads(env.get("SM_TRAINING_ENV") or "{}").get("current_instance_type") or "") or None
    except ValueError:
        return None


def _made(client: Any, experiment: str) -> str:
    try:
        return str(client.create_experiment(experiment))
    except Exception:  # another trial made it meanwhile
        return str(client.get_experiment_by_name(experiment).experiment_id)


def _find(client: Any, experiment_id: str, job: str, run: str | None) -> str | None:
    query = f"tags.`hfst.job` = '{_quote(job)}'"
    query += f" AND tags.`hfst.run` = '{_quote(run)}'" if run else " AND tags.`hfst.kind` = 'job'"
    found = client.search_runs([experiment_id], filter_string=query, max_results=50)
    ordered = sorted(found, key=lambda r: (r.info.start_time or 0, r.info.run_id))
    return str(ordered[0].info.run_id) if ordered else None


def _find_or_make(client: Any, experiment_id: str, job: str, run: str | None, kind: str, parent: str | None) -> str:
    """The run tagged so (the earliest when trials raced to make it: a later one deletes its own)."""
    existing = _find(client, experiment_id, job, run)
    if existing is not None:
        return existing
    tags = {"hfst.job": job, "hfst.kind": kind, **({"hfst.run": run} if run else {})}
    if parent is not None:
        tags["mlflow.parentRunId"] = parent
    made = str(client.create_run(experiment_id, tags=tags, run_name=run or job).info.run_id)
    winner = _find(client, experiment_id, job, run) or made
    if winner != made:
        client.delete_run(made)
    return winner


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


#: The tracker of a run that tracks nothing (the default until ``open_tracker`` is called).
NO_TRACKER = Tracker({}, {}, Path(), main=False)


def open_tracker(environ: Mapping[str, str], paths: ContainerPaths, main: bool) -> Tracker:
    """The run's tracker, with its hyperparameters read as the service passed them (strings)."""
    hyperparameters_file = paths.hyperparameters_file
    try:
        raw = json.loads(hyperparameters_file.read_text(encoding="utf-8")) if hyperparameters_file.is_file() else {}
    except (OSError, ValueError):
        raw = {}
    if not raw:
        try:
            raw = json.loads(environ.get("SM_HPS") or "{}")
        except ValueError:
            raw = {}
    texts = {k: v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()}
    return Tracker(environ, texts, paths.output_data_dir, main)
