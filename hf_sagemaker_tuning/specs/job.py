"""The whole tuning job: every spec together, with the checks that span them."""

from __future__ import annotations

import math

from pydantic import Field, model_validator

from .. import contract
from ._base import Spec, SpecFieldError
from ._errors import shorten
from ._problem import check_problem_type
from .budget import BudgetSpec
from .cross_validation import cv_metric
from .dataset import DatasetSpec
from .local import LocalSpec
from .objective import ObjectiveSpec
from .sagemaker import SageMakerSpec
from .search_space import CategoricalParameter, ContinuousParameter, IntegerParameter, SearchSpace, categorical_text
from .tracking import TrackingSpec
from .training import HyperparameterValue, TrainingSpec, hyperparameter_text
from .tuning import TuningSpec

#: Hyperparameters of the bundled package that only ``tuning.cross_validation`` and ``tuning.repeats`` set.
CV_HYPERPARAMETERS = ("cv_folds", "cv_repeats", "cv_keep_models")


class TuningJobSpec(Spec):
    """A tuning job, as a user describes it once (YAML, JSON or Python)."""

    name: str = Field(
        description="Job name: <= 32 letters, digits and hyphens. A time+random suffix makes each run unique."
    )
    dataset: DatasetSpec
    training: TrainingSpec
    search_space: SearchSpace
    objective: ObjectiveSpec
    tuning: TuningSpec
    sagemaker: SageMakerSpec | None = Field(None, description="Needed for the SageMaker backend only.")
    budget: BudgetSpec | None = Field(None, description="Spending ceiling checked before a SageMaker job is submitted.")
    local: LocalSpec | None = Field(
        None, description="Local backend only: GPUs and processes per trial, trials per GPU (CLI flags override)."
    )
    tracking: TrackingSpec | None = Field(
        None, description="Experiment tracking: MLflow runs and TensorBoard event files (nothing is logged without it)."
    )

    @model_validator(mode="after")
    def _cross_checks(self) -> TuningJobSpec:
        from ..compile.naming import job_name_problem  # botocore's rule, read when a spec is checked

        problem = job_name_problem(self.name)
        if problem is not None:
            raise SpecFieldError("name", f"does not fit SageMaker's tuning-job name rule: {problem}")
        tuned = set(self.search_space.names())
        static = set(self.training.hyperparameters)
        both = sorted(tuned & static)
        if both:
            raise SpecFieldError(
                f"training.hyperparameters.{both[0]}",
                f"hyperparameters {both} are both tuned (search_space) and static (training.hyperparameters)",
            )
        if "model_name_or_path" in tuned:
            raise SpecFieldError(
                "search_space.model_name_or_path", "model_name_or_path cannot be tuned; set training.model"
            )
        for name in tuned:
            if name.startswith("sagemaker_") or name == "_tuning_objective_metric":
                raise SpecFieldError(f"search_space.{name}", "the name is reserved for SageMaker")
        self._check_declared()
        self._check_objective()
        check_problem_type(self)
        self._check_strategy()
        self._check_local()
        self._check_tracking()
        self._check_averaged()
        return self

    def _check_tracking(self) -> None:
        mlflow = self.tracking.mlflow if self.tracking else None
        region = None if mlflow is None else mlflow.region
        if region is not None and self.sagemaker is not None and region != self.sagemaker.region:
            raise SpecFieldError(
                "tracking.mlflow.tracking_uri",
                f"the tracking server is in {region} but the job runs in {self.sagemaker.region} "
                "(sagemaker.region); use a tracking server in the job's region",
            )

    def _check_averaged(self) -> None:
        """Cross-validation and repeats run inside the bundled training package, on one process."""
        tuning = self.tuning
        reserved = sorted(
            (set(self.search_space.names()) | set(self.training.hyperparameters)) & set(CV_HYPERPARAMETERS)
        )
        if reserved:
            raise SpecFieldError(
                f"training.hyperparameters.{reserved[0]}",
                f"{reserved} are set from tuning.cross_validation and tuning.repeats; set those instead",
            )
        if not tuning.averaged:
            return
        what = "tuning.cross_validation" if tuning.cross_validation is not None else "tuning.repeats"
        if not self.training.uses_bundled_package:
            raise SpecFieldError(
                what, "runs the folds and seeds inside the bundled training package; your own entry_point can't"
            )
        if self.training.launch == "torch_distributed":
            raise SpecFieldError(
                what,
                "trains its runs one after another in one process; data-parallel training (torch_distributed, "
                "instance_count > 1 or a multi-GPU instance) is not supported with it: use one GPU per trial",
            )
        local = self.local
        if local is not None and (local.processes_per_trial > 1 or (local.gpus_per_trial or 1) > 1):
            raise SpecFieldError(
                "local.processes_per_trial" if local.processes_per_trial > 1 else "local.gpus_per_trial",
                f"{what} trains its runs one after another in one process: use 1 process and 1 GPU per trial",
            )

    def _check_local(self) -> None:
        local = self.local
        if local is None or self.training.uses_bundled_package or self.training.distribution == "torch_distributed":
            return
        for name in ("gpus_per_trial", "processes_per_trial"):
            value = getattr(local, name)
            if value is not None and value > 1:
                raise SpecFieldError(
                    f"local.{name}",
                    f"{value} processes per trial start your entry_point under torchrun; say that it supports it "
                    f"with training.distribution: torch_distributed (or set local.{name} to 1)",
                )

    def _check_declared(self) -> None:
        if not self.training.uses_bundled_package:
            declared_names = self.training.declared_hyperparameters
            if declared_names is None:
                return
            unknown = sorted(set(self.search_space.names()) | set(self.training.hyperparameters))
            unknown = [n for n in unknown if n not in declared_names]
            if unknown:
                raise SpecFieldError(
                    "training.declared_hyperparameters", f"hyperparameters {unknown} are not declared here"
                )
            return
        declared = contract.declared_hyperparameters()
        known = ", ".join(sorted(declared))
        for name, param in self.search_space.items():
            decl = declared.get(name)
            if decl is None:
                raise SpecFieldError(
                    f"search_space.{name}", f"the bundled training package has no such hyperparameter; known: {known}"
                )
            _check_range(f"search_space.{name}", param, decl)
        for name, value in self.training.hyperparameters.items():
            decl = declared.get(name)
            if decl is None:
                raise SpecFieldError(
                    f"training.hyperparameters.{name}",
                    f"the bundled training package has no such hyperparameter; known: {known}",
                )
            _check_value(f"training.hyperparameters.{name}", value, decl)

    def _check_objective(self) -> None:
        objective = self.objective
        if objective.regex is None:
            if not self.training.uses_bundled_package:
                raise SpecFieldError(
                    "objective.regex", f"with your own entry_point, give the regex of {shorten(objective.metric)}"
                )
            metrics = contract.declared_metrics()
            if contract.metric_declaration(objective.metric) is None or not objective.metric.startswith("eval_"):
                eval_metrics = [m for m in metrics if m.startswith("eval_")]
                raise SpecFieldError(
                    "objective.metric",
                    f"{shorten(objective.metric)} is not an evaluation metric the bundled training package "
                    f"prints; choose one of {eval_metrics}, or give a regex for a custom metric",
                )
        declared = contract.metric_declaration(objective.metric) if self.training.uses_bundled_package else None
        if (
            declared is not None
            and objective.direction is not None
            and objective.direction != declared.direction
            and not objective.direction_override
        ):
            raise SpecFieldError(
                "objective.direction",
                f"{objective.direction} contradicts metric {objective.metric}, which the training package declares "
                f"as {declared.direction} (training/metrics.json): the tuner would keep the worst model. Use "
                f"direction: {declared.direction}, or set objective.direction_override: true if this is meant",
            )
        official = (
            objective.metric == "eval_official"
            or self.training.hyperparameters.get("metric_for_best_model") == "eval_official"
        )
        if official and self.training.uses_bundled_package and self.dataset.resolved_task is None:
            raise SpecFieldError(
                "dataset.task",
                "eval_official is the task's official metric: name the task (dataset.task, e.g. tweet_eval/emotion) "
                "so the training package knows which metric that is",
            )

    def _check_strategy(self) -> None:
        tuning = self.tuning
        if tuning.strategy == "grid":
            if not self.search_space.only_categorical:
                ranges = [n for n, p in self.search_space.items() if not isinstance(p, CategoricalParameter)]
                raise SpecFieldError(
                    "tuning.strategy", f"strategy grid needs categorical parameters only; {ranges} are ranges"
                )
            combos = self.search_space.grid_size()
            if tuning.max_jobs is not None and tuning.max_jobs > combos:
                raise SpecFieldError(
                    "tuning.max_jobs",
                    f"max_jobs ({tuning.max_jobs}) exceeds the {combos} combinations strategy grid can try",
                )
            if tuning.max_parallel_jobs > combos:
                raise SpecFieldError(
                    "tuning.max_parallel_jobs",
                    f"max_parallel_jobs ({tuning.max_parallel_jobs}) exceeds the {combos} combinations",
                )
        if tuning.strategy == "hyperband" and "epochs" in self.search_space.names():
            raise SpecFieldError(
                "search_space.epochs", "with strategy hyperband, epochs is Hyperband's resource; it cannot be tuned"
            )

    @property
    def tuned_metric(self) -> str:
        """The metric the tuner optimizes: the objective, or its cross-run mean (``eval_cv_*``) with folds or seeds."""
        if self.tuning.averaged:
            return cv_metric(self.objective.metric)
        return self.objective.metric

    @property
    def direction(self) -> str:
        """The objective's direction, resolved (maximize or minimize)."""
        if self.objective.direction is not None:
            return self.objective.direction
        declared = contract.metric_declaration(self.objective.metric)
        assert declared is not None  # a metric without a declaration needs a direction (checked above)
        return declared.direction

    @property
    def notes(self) -> list[str]:
        """Advice that is not an error."""
        return self.tuning.notes

    def static_hyperparameters(self) -> dict[str, str]:
        """Every static hyperparameter as SageMaker carries it (strings), the model included.

        With the bundled package and an ``eval_*`` objective, ``metric_for_best_model``
        follows the objective unless set, so the kept checkpoint is the one the tuner scores.
        """
        out = {"model_name_or_path": self.training.model}
        out.update({k: hyperparameter_text(v) for k, v in self.training.hyperparameters.items()})
        if self.training.uses_bundled_package and "metric_for_best_model" not in out:
            choices = contract.declared_hyperparameters()["metric_for_best_model"].choices or ()
            if "metric_for_best_model" not in self.search_space.names():
                if self.objective.metric in choices:
                    out["metric_for_best_model"] = self.objective.metric
                elif self.dataset.problem_type != "single_label_classification":
                    out["metric_for_best_model"] = contract.primary_metric(self.dataset.problem_type)
        out.update(self.cv_hyperparameters())
        return out

    def cv_hyperparameters(self) -> dict[str, str]:
        """What tells the training package to cross-validate or repeat seeds (empty for a single run)."""
        tuning = self.tuning
        if not tuning.averaged:
            return {}
        cv = tuning.cross_validation
        return {
            "cv_folds": str(cv.folds if cv is not None else 0),
            "cv_repeats": str(tuning.repeats),
            "cv_keep_models": "true" if cv is not None and cv.keep_fold_models else "false",
        }


def _check_range(
    where: str,
    param: ContinuousParameter | IntegerParameter | CategoricalParameter,
    decl: contract.DeclaredHyperparameter,
) -> None:
    if isinstance(param, CategoricalParameter):
        for value in param.values:
            _check_value(where, value, decl)
        return
    if decl.type in ("str", "bool"):
        raise SpecFieldError(where, f"{decl.name} is a {decl.type} hyperparameter; tune it as categorical")
    if isinstance(param, ContinuousParameter) and decl.type == "int":
        raise SpecFieldError(where, f"{decl.name} takes integers; use kind: integer")
    if decl.min is not None and param.min < decl.min:
        raise SpecFieldError(where, f"min {shorten(param.min)} is below the smallest allowed value {shorten(decl.min)}")
    if decl.max is not None and param.max > decl.max:
        raise SpecFieldError(where, f"max {shorten(param.max)} is above the largest allowed value {shorten(decl.max)}")


def _check_value(where: str, value: HyperparameterValue, decl: contract.DeclaredHyperparameter) -> None:
    text = categorical_text(value)
    if decl.type == "bool":
        if text.lower() not in ("true", "false"):
            raise SpecFieldError(where, f"{decl.name} is true or false, not {shorten(value)}")
        return
    if decl.type == "str":
        if decl.choices is not None and text not in decl.choices:
            raise SpecFieldError(where, f"{shorten(value)} is not one of {list(decl.choices)}")
        return
    try:
        number = int(text) if decl.type == "int" else float(text)
    except ValueError:
        raise SpecFieldError(where, f"{decl.name} takes {decl.type} values, not {shorten(value)}") from None
    if isinstance(number, float) and not math.isfinite(number):
        raise SpecFieldError(where, f"{shorten(value)} is not a finite number")
    if decl.min is not None and number < decl.min:
        raise SpecFieldError(where, f"{shorten(value)} is below the smallest allowed value {shorten(decl.min)}")
    if decl.max is not None and number > decl.max:
        raise SpecFieldError(where, f"{shorten(value)} is above the largest allowed value {shorten(decl.max)}")
