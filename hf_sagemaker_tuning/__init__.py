"""hf-sagemaker-tuning: typed hyperparameter tuning of Hugging Face fine-tuning, locally or on SageMaker.

The names below load on first use, so ``import hf_sagemaker_tuning`` stays cheap and
never imports torch, transformers, datasets or sagemaker.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import AwsError, BackendError, CompileError, DataError, SpecError, TuningError

__version__ = "0.1.0"

_LAZY = {
    "TuningJobSpec": "hf_sagemaker_tuning.specs",
    "DatasetSpec": "hf_sagemaker_tuning.specs",
    "TrainingSpec": "hf_sagemaker_tuning.specs",
    "SearchSpace": "hf_sagemaker_tuning.specs",
    "ObjectiveSpec": "hf_sagemaker_tuning.specs",
    "TuningSpec": "hf_sagemaker_tuning.specs",
    "SageMakerSpec": "hf_sagemaker_tuning.specs",
    "ContinuousParameter": "hf_sagemaker_tuning.specs",
    "IntegerParameter": "hf_sagemaker_tuning.specs",
    "CategoricalParameter": "hf_sagemaker_tuning.specs",
    "load_job_spec": "hf_sagemaker_tuning.specs",
    "dump_yaml": "hf_sagemaker_tuning.specs",
    "json_schema": "hf_sagemaker_tuning.specs",
    "TuningJobRequest": "hf_sagemaker_tuning.compile",
    "compile_request": "hf_sagemaker_tuning.compile",
    "validate_request_body": "hf_sagemaker_tuning.compile",
    "TuningJob": "hf_sagemaker_tuning.tuning_job",
    "tune": "hf_sagemaker_tuning.tuning_job",
    "Backend": "hf_sagemaker_tuning.backends",
    "open_backend": "hf_sagemaker_tuning.backends",
    "resolve_job": "hf_sagemaker_tuning.backends",
    "Trial": "hf_sagemaker_tuning.trials",
}

__all__ = [
    "AwsError",
    "Backend",
    "BackendError",
    "CategoricalParameter",
    "CompileError",
    "ContinuousParameter",
    "DataError",
    "DatasetSpec",
    "IntegerParameter",
    "ObjectiveSpec",
    "SageMakerSpec",
    "SearchSpace",
    "SpecError",
    "TrainingSpec",
    "Trial",
    "TuningError",
    "TuningJob",
    "TuningJobRequest",
    "TuningJobSpec",
    "TuningSpec",
    "__version__",
    "compile_request",
    "dump_yaml",
    "json_schema",
    "load_job_spec",
    "open_backend",
    "resolve_job",
    "tune",
    "validate_request_body",
]

if TYPE_CHECKING:  # pragma: no cover
    from .backends import Backend, open_backend, resolve_job
    from .compile import TuningJobRequest, compile_request, validate_request_body
    from .specs import (
        CategoricalParameter,
        ContinuousParameter,
        DatasetSpec,
        IntegerParameter,
        ObjectiveSpec,
        SageMakerSpec,
        SearchSpace,
        TrainingSpec,
        TuningJobSpec,
        TuningSpec,
        dump_yaml,
        json_schema,
        load_job_spec,
    )
    from .trials import Trial
    from .tuning_job import TuningJob, tune


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hf_sagemaker_tuning' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
