"""``SageMakerBackend``: submits the compiled request to SageMaker Automatic Model Tuning (boto3).

The request sent is exactly ``request.to_api()``; before sending it, the training code
(the bundled ``training/`` or your ``source_dir``) is packed into ``sourcedir.tar.gz``
and uploaded to the request's ``sagemaker_submit_directory``, where the Hugging Face
training container fetches it. (``compile.sdk.build_tuner`` gives the same job as
sagemaker v3 SDK objects, for pipelines.)
"""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path
from typing import Any

from ..compile.request import TuningJobRequest
from ..contract import training_package_dir
from ..errors import BackendError, translate_client_error
from .base import Backend

#: Folders never packed into sourcedir.tar.gz (besides hidden files and folders, e.g. .mypy_cache).
_SKIP = {"__pycache__"}


def pack_source_dir(source_dir: Path) -> bytes:
    """``source_dir`` as a gzipped tar with paths relative to it (as the containers expect)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(source_dir.rglob("*")):
            parts = path.relative_to(source_dir).parts
            hidden = any(part.startswith(".") for part in parts)
            if path.is_file() and not hidden and not (_SKIP & set(parts)) and path.suffix != ".pyc":
                tar.add(path, arcname=str(path.relative_to(source_dir)))
    return buffer.getvalue()


def _split_s3(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise BackendError(f"{uri!r} is not an s3://bucket/key URI")
    bucket, key = uri[5:].split("/", 1)
    return bucket, key


class SageMakerBackend(Backend):
    """Runs tuning jobs on SageMaker AMT through boto3.

    Args:
        region: AWS region (default: the session's).
        boto_session: a ``boto3.Session`` (default: a new one; credentials from the usual chain).
        source_dir: the training code to upload (default: the bundled training package).
    """

    name = "sagemaker"

    def __init__(self, region: str | None = None, *, boto_session: Any | None = None, source_dir: str | None = None):
        import boto3

        self.session = boto_session or boto3.Session(region_name=region)
        self.region = region or self.session.region_name
        if not self.region:
            raise BackendError("no AWS region: pass region= or set AWS_DEFAULT_REGION")
        self.client = self.session.client("sagemaker", region_name=self.region)
        self.source_dir = Path(source_dir) if source_dir else training_package_dir()

    def upload_source(self, request: TuningJobRequest) -> str:
        """Pack the training code and upload it where the request says the container finds it."""
        uri = request.TrainingJobDefinition.StaticHyperParameters.get("sagemaker_submit_directory", "")
        bucket, key = _split_s3(uri)
        if not (self.source_dir / request.TrainingJobDefinition.StaticHyperParameters["sagemaker_program"]).is_file():
            raise BackendError(f"the entry point is missing from {self.source_dir}")
        from botocore.exceptions import BotoCoreError, ClientError

        s3 = self.session.client("s3", region_name=self.region)
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=pack_source_dir(self.source_dir))
        except (ClientError, BotoCoreError) as exc:
            raise translate_client_error(exc, "PutObject (training code)") from exc
        return uri

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        method = getattr(self.client, operation)
        try:
            answer: dict[str, Any] = method(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise translate_client_error(exc) from exc
        answer.pop("ResponseMetadata", None)
        return answer

    def _submit(self, request: TuningJobRequest) -> str:
        self.upload_source(request)
        self._call("create_hyper_parameter_tuning_job", **request.to_api())
        return request.job_name

    def _describe(self, job: str) -> dict[str, Any]:
        return self._call("describe_hyper_parameter_tuning_job", HyperParameterTuningJobName=job)

    def _list_trials(self, job: str) -> list[dict[str, Any]]:
        trials: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"HyperParameterTuningJobName": job, "MaxResults": 100}
        while True:
            page = self._call("list_training_jobs_for_hyper_parameter_tuning_job", **kwargs)
            trials.extend(page.get("TrainingJobSummaries", []))
            token = page.get("NextToken")
            if not token:
                return trials
            kwargs["NextToken"] = token

    def _stop(self, job: str) -> None:
        self._call("stop_hyper_parameter_tuning_job", HyperParameterTuningJobName=job)

    def _logs(self, job: str, trial: str) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        logs = self.session.client("logs", region_name=self.region)
        group = "/aws/sagemaker/TrainingJobs"
        lines: list[str] = []
        try:
            streams = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=f"{trial}/").get(
                "logStreams", []
            )
            for stream in streams:
                token: str | None = None
                while True:
                    kwargs: dict[str, Any] = {
                        "logGroupName": group,
                        "logStreamName": stream["logStreamName"],
                        "startFromHead": True,
                    }
                    if token:
                        kwargs["nextToken"] = token
                    page = logs.get_log_events(**kwargs)
                    lines.extend(event["message"] for event in page.get("events", []))
                    if page.get("nextForwardToken") in (None, token):
                        break
                    token = page["nextForwardToken"]
        except (ClientError, BotoCoreError) as exc:
            raise translate_client_error(exc, "GetLogEvents") from exc
        return os.linesep.join(lines)
