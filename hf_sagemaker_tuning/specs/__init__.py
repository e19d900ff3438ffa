"""Typed, frozen specs for a tuning job, and reading/writing them."""

from .budget import BudgetSpec
from .dataset import CleaningSpec, DatasetSpec
from .io import dump_yaml, json_schema, load_job_spec, parse_job_spec, spec_to_dict
from .job import TuningJobSpec
from .local import LocalSpec
from .objective import MetricDefinitionSpec, ObjectiveSpec, check_metric_regex
from .sagemaker import SageMakerSpec
from .search_space import CategoricalParameter, ContinuousParameter, IntegerParameter, SearchSpace
from .tracking import MlflowSpec, TrackingSpec
from .training import TrainingSpec
from .tuning import CompletionSpec, HyperbandSpec, TuningSpec, WarmStartSpec

__all__ = [
    "BudgetSpec",
    "CategoricalParameter",
    "CleaningSpec",
    "CompletionSpec",
    "ContinuousParameter",
    "DatasetSpec",
    "HyperbandSpec",
    "IntegerParameter",
    "LocalSpec",
    "MetricDefinitionSpec",
    "MlflowSpec",
    "ObjectiveSpec",
    "SageMakerSpec",
    "SearchSpace",
    "TrackingSpec",
    "TrainingSpec",
    "TuningJobSpec",
    "TuningSpec",
    "WarmStartSpec",
    "check_metric_regex",
    "dump_yaml",
    "json_schema",
    "load_job_spec",
    "parse_job_spec",
    "spec_to_dict",
]
