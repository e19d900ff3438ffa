"""Specs -> the CreateHyperParameterTuningJob request, and -> sagemaker v3 SDK objects."""

from .compiler import LOCAL_ROLE_ARN, compile_request, default_data_uri, metric_definitions
from .naming import unique_job_name
from .request import TuningJobRequest
from .validate import validate_request_body

__all__ = [
    "LOCAL_ROLE_ARN",
    "TuningJobRequest",
    "compile_request",
    "default_data_uri",
    "metric_definitions",
    "unique_job_name",
    "validate_request_body",
]
