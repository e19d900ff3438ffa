"""The run tree of one tuning job, written from the backend's own records (``Backend`` only).

```
<job>                 parent run (hfst.kind=job): spec.yaml, request.json, report.html,
  <trial> ...         best_trial tag, best_objective metric; one child per trial (hfst.kind=trial):
  <retrain>           params = hyperparameters, metrics = every evaluation at its step + objective,
  <evaluation>        tags = status, failure_reason, instance_type, backend; retrains (hfst.kind=retrain)
                      and evaluations (hfst.kind=evaluation: test metrics, confusion_matrix.json)
```

Live logging (the local coordinator, the local retrain and evaluate) and ``hfst track`` both write
through ``JobTree``, so they leave the same tree; every write is idempotent (``_store``).
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BackendError, TuningError
from ..trials import Trial
from ._redact import redact_mapping, redact_text, redact_tree
from ._store import MlflowStore

if TYPE_CHECKING:  # pragma: no cover
    from ..backends.base import Backend
    from ..evaluate import Evaluation

__all__ = ["JobTree", "trial_params"]

#: Hyperparameters that are the framework's, not the user's (the container contract).
_FRAMEWORK = ("sagemaker_",)
_INTERNAL = ("_tuning_objective_metric",)


def trial_params(static: Mapping[str, str], tuned: Mapping[str, str]) -> dict[str, str]:
    """A run's params: its static and tuned hyperparameters (framework keys left out), secrets hidden."""
    merged = {k: str(v) for k, v in static.items() if not k.startswith(_FRAMEWORK) and k not in _INTERNAL}
    merged.update({k: str(v) for k, v in tuned.items()})
    return redact_mapping(merged)


def _steps(history: Mapping[str, list[float]], count: int) -> list[int]:
    """Each evaluation's step: the ``step`` metric where it lines up, else 1, 2, 3..."""
    steps = history.get("step") or []
    if len(steps) == count and all(math.isfinite(s) for s in steps):
        return [int(s) for s in steps]
    return list(range(1, count + 1))


class JobTree:
    """Writes one job's runs to one MLflow experiment.

    Args:
        store: the MLflow experiment.
        backend: the job's backend.
        job: the job's id on it.
    """

    def __init__(self, store: MlflowStore, backend: Backend, job: str):
        self.store, self.backend, self.job = store, backend, job
        self.name = backend.job_name(job)
        self._parent: str | None = None
        self._description: dict[str, Any] | None = None

    def description(self, fresh: bool = False) -> dict[str, Any]:
        if self._description is None or fresh:
            self._description = self.backend.describe(self.job)
        return self._description

    @property
    def definition(self) -> dict[str, Any]:
        return dict(self.description().get("TrainingJobDefinition") or {})

    def parent(self) -> str:
        """The job's parent run (made when missing)."""
        if self._parent is None:
            self._parent = self.store.run(
                self.name, None, "job", name=self.name, start=self.description().get("CreationTime")
            )
            self.store.tags(self._parent, {"backend": self.backend.name})
        return self._parent

    # ------------------------------------------------------------------ children
    def _common_tags(self) -> dict[str, str | None]:
        resources = self.definition.get("ResourceConfig") or {}
        return {"backend": self.backend.name, "instance_type": resources.get("InstanceType")}

    def trial(self, trial: Trial) -> str:
        """Log one trial (params, every evaluation at its step, the final objective, tags, status)."""
        run = self.store.run(
            self.name, trial.name, "trial", parent=self.parent(), start=trial.start_time or trial.creation_time
        )
        static = self.definition.get("StaticHyperParameters") or {}
        self.store.params(run, trial_params(static, trial.hyperparameters))
        try:
            history = self.backend.metric_history(self.job, trial.name)
        except BackendError:
            history = {}
        self._history(run, history)
        if trial.objective is not None and math.isfinite(trial.objective):
            series = history.get(trial.objective_metric or "", [])
            last = _steps(history, len(series))[-1] if series else 0
            self.store.metric(run, "objective", [trial.objective], [last])
        self.store.tags(
            run,
            {
                **self._common_tags(),
                "trial": trial.name,
                "status": trial.status,
                "failure_reason": None if trial.failure_reason is None else redact_text(trial.failure_reason),
                "stop_reason": trial.stop_reason,
                "objective_metric": trial.objective_metric,
            },
        )
        self.store.status(run, trial.status, trial.end_time)
        return run

    def _history(self, run: str, history: Mapping[str, list[float]]) -> None:
        for key, values in sorted(history.items()):
            if key == "step" or not values:
                continue
            self.store.metric(run, key, values, _steps(history, len(values)))

    def retrain(self, name: str) -> str | None:
        """Log a training job that ``start_training`` ran for the job (a retrain); ``None`` if unknown."""
        try:
            answer = self.backend.describe_training(self.job, name)
        except TuningError:
            return None
        run = self.store.run(
            self.name,
            name,
            "retrain",
            parent=self.parent(),
            start=answer.get("TrainingStartTime") or answer.get("CreationTime"),
        )
        self.store.params(run, trial_params(answer.get("HyperParameters") or {}, {}))
        try:
            history = self.backend.metric_history(self.job, name)
        except TuningError:
            history = {}
        if not history:
            history = {m["MetricName"]: [float(m["Value"])] for m in answer.get("FinalMetricDataList") or []}
        self._history(run, history)
        status = str(answer.get("TrainingJobStatus", "InProgress"))
        reason = answer.get("FailureReason")
        self.store.tags(
            run,
            {
                **self._common_tags(),
                "status": status,
                "failure_reason": None if reason is None else redact_text(str(reason)),
                "model": (answer.get("ModelArtifacts") or {}).get("S3ModelArtifacts"),
            },
        )
        self.store.status(run, status, answer.get("TrainingEndTime"))
        return run

    def evaluation(self, evaluation: Evaluation) -> str:
        """Log one saved evaluation: its split's metrics, the confusion matrix and per-class figures."""
        run = self.store.run(
            self.name, evaluation.evaluation_job, "evaluation", parent=self.parent(), start=evaluation.created or None
        )
        self.store.params(
            run,
            redact_mapping(
                {
                    "split": evaluation.split,
                    "model": evaluation.model,
                    "model_job": evaluation.model_job or "",
                    "model_source": evaluation.model_source,
                    "examples": evaluation.examples,
                }
            ),
        )
        for key, value in sorted(evaluation.metrics.items()):
            self.store.metric(run, f"{evaluation.split}_{key.removeprefix('eval_')}", [float(value)], [0])
        score_name, score = evaluation.score
        self.store.tags(
            run,
            {**self._common_tags(), "status": "Completed", "split": evaluation.split, "score_name": score_name},
        )
        self.store.metric(run, f"{evaluation.split}_score", [score], [0])
        matrix = {"labels": list(evaluation.label_names), "matrix": [list(r) for r in evaluation.confusion_matrix]}
        self.store.text(run, json.dumps(matrix, indent=2), "confusion_matrix.json")
        self.store.text(run, json.dumps(list(evaluation.per_class), indent=2, default=str), "per_class.json")
        self.store.status(run, "Completed", evaluation.created or None)
        return run

    # ------------------------------------------------------------------ the parent
    def conclude(self, *, report: bool = True, register_as: str | None = None) -> None:
        """The parent's tags, best objective, artifacts (spec, request, report) and the registered model."""
        description = self.description(fresh=True)
        parent = self.parent()
        best = self.backend.best_trial(self.job)
        config = description.get("HyperParameterTuningJobConfig") or {}
        objective = config.get("HyperParameterTuningJobObjective") or {}
        self.store.tags(
            parent,
            {
                "backend": self.backend.name,
                "status": str(description["HyperParameterTuningJobStatus"]),
                "best_trial": None if best is None else best.name,
                "objective_metric": objective.get("MetricName"),
                "objective_direction": objective.get("Type"),
                "failure_reason": None
                if not description.get("FailureReason")
                else redact_text(str(description["FailureReason"])),
            },
        )
        if best is not None and best.objective is not None:
            self.store.metric(parent, "best_objective", [best.objective], [0])
        request = {
            k: description[k]
            for k in ("HyperParameterTuningJobName", "HyperParameterTuningJobConfig", "TrainingJobDefinition")
            if k in description
        }
        self.store.text(parent, json.dumps(redact_tree(request), indent=2, default=str), "request.json")
        spec = self.backend.spec(self.job)
        if spec is not None:
            import yaml

            from ..specs import spec_to_dict

            self.store.text(parent, yaml.safe_dump(redact_tree(spec_to_dict(spec)), sort_keys=False), "spec.yaml")
        if report:
            self._report(parent)
        if register_as and str(description["HyperParameterTuningJobStatus"]) in ("Completed", "Stopped"):
            self.register(register_as)
        self.store.status(
            parent, str(description["HyperParameterTuningJobStatus"]), description.get("HyperParameterTuningEndTime")
        )

    def _report(self, parent: str) -> None:
        from ..results import write_report

        with tempfile.TemporaryDirectory(prefix="hfst-track-") as folder:
            path = write_report(self.job, Path(folder) / "report.html", self.backend)
            self.store.artifact_file(parent, path)

    def register(self, model_name: str) -> str | None:
        """Register the job's model (newest retrain, else best trial) as a version of ``model_name``."""
        try:
            artifact = self.backend.best_model(self.job)
        except BackendError:
            return None
        run = self.store.find_run(self.name, artifact.training_job_name)
        if run is None:
            run = self.parent()
        source = artifact.location
        if artifact.is_local:
            # A registry takes a local model only from the run's own artifacts: copy it there once.
            if not self.store.client.list_artifacts(run, "model"):
                self.store.artifact_dir(run, Path(artifact.location), "model")
            source = f"runs:/{run}/model"
        self.store.tags(self.parent(), {"registered_model": model_name, "model_source": artifact.summary})
        return self.store.register(model_name, run, source, artifact.location)

    # ------------------------------------------------------------------ everything
    def sync(self, *, report: bool = True, register_as: str | None = None) -> dict[str, int]:
        """Write the whole tree from the backend's records; return how many runs of each kind it holds."""
        from ..evaluate._store import saved_evaluations

        counts = {"trial": 0, "retrain": 0, "evaluation": 0}
        self.parent()
        for trial in self.backend.list_trials(self.job):
            self.trial(trial)
            counts["trial"] += 1
        evaluations = saved_evaluations(self.backend, self.job)
        retrains: list[str] = []
        try:
            artifact = self.backend.best_model(self.job)
            if artifact.source == "retrain":
                retrains.append(artifact.training_job_name)
        except BackendError:
            pass
        retrains += [e.model_job for e in evaluations if e.model_source == "retrain" and e.model_job]
        for name in dict.fromkeys(retrains):
            if self.retrain(name) is not None:
                counts["retrain"] += 1
        for evaluation in evaluations:
            self.evaluation(evaluation)
            counts["evaluation"] += 1
        self.conclude(report=report, register_as=register_as)
        return counts
