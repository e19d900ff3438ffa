"""The one module that talks to SageMaker for results: describe a tuning job and list its trials.

``DescribeHyperParameterTuningJob`` gives the job (status, ranges, objective, limits);
``ListTrainingJobsForHyperParameterTuningJob`` (paginated, 100 a page) gives every trial
as a ``TrainingJobSummary``. botocore failures become ``TuningError``s.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..errors import BackendError, TuningError, translate_client_error

PAGE_SIZE = 100


def fetch_job(
    job: str, *, region: str | None = None, boto_session: Any | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``(description, trial summaries oldest first)`` of SageMaker tuning job ``job``.

    Args:
        job: the tuning job's name.
        region: AWS region (default: the session's or the environment's).
        boto_session: a ``boto3.Session`` to use (default: a new one).

    Raises:
        AwsError: SageMaker answered with an error (e.g. no such job).
        BackendError: boto3 could not make the call (no credentials, no region, no network).
    """
    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError as exc:  # pragma: no cover - boto3 is a core dependency
        raise BackendError(f"reading SageMaker results needs boto3: {exc}") from exc

    operation = "DescribeHyperParameterTuningJob"
    try:
        session = boto_session if boto_session is not None else boto3.Session(region_name=region)
        client = session.client("sagemaker", region_name=region) if region else session.client("sagemaker")
        description: dict[str, Any] = dict(client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=job))
        operation = "ListTrainingJobsForHyperParameterTuningJob"
        paginator = client.get_paginator("list_training_jobs_for_hyper_parameter_tuning_job")
        pages = paginator.paginate(HyperParameterTuningJobName=job, PaginationConfig={"PageSize": PAGE_SIZE})
        trials = [dict(summary) for page in pages for summary in page.get("TrainingJobSummaries", [])]
    except ClientError as exc:
        raise translate_client_error(exc, operation) from exc
    except BotoCoreError as exc:
        raise BackendError(f"{operation} failed: {exc}") from exc
    except TuningError:  # pragma: no cover - defensive
        raise
    description.pop("ResponseMetadata", None)
    return description, sorted(trials, key=_launch_key)


def _launch_key(trial: dict[str, Any]) -> tuple[bool, float, str]:
    created = trial.get("CreationTime")
    stamp = created.timestamp() if isinstance(created, datetime) else 0.0
    return (created is None, stamp, str(trial.get("TrainingJobName", "")))
