"""Read-only checks with the user's own AWS credentials, before a SageMaker job is submitted.

Each check passes, fails, or could not be made (a missing permission, no credentials, no network) with
the reason. Nothing is created or changed: the calls are IAM GetRole, S3 GetBucketLocation and HeadObject,
and Service Quotas ListServiceQuotas / ListAWSDefaultServiceQuotas.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Literal
from urllib.parse import unquote

from ..specs.job import TuningJobSpec

Status = Literal["pass", "fail", "could-not-check"]
SAGEMAKER_PRINCIPAL = "sagemaker.amazonaws.com"
QUOTA_SERVICE_CODE = "sagemaker"
#: Codes that mean "this answer says nothing about the resource": a permission or credential problem.
_CANNOT_TELL = ("AccessDenied", "Forbidden", "403", "Unauthorized", "InvalidClientTokenId", "ExpiredToken", "Signature")
_MISSING = ("NoSuchEntity", "NoSuchBucket", "NoSuchKey", "NotFound", "404")


@dataclass(frozen=True)
class OnlineCheck:
    """One online check: ``status`` pass, fail or could-not-check, with the reason and the spec field."""

    name: str
    status: Status
    reason: str
    path: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def _client(session: Any, service: str, region: str | None) -> Any:
    """A boto3 client (one place, so tests can hand in a stubbed one for a service moto lacks)."""
    return session.client(service, region_name=region)


def _code(exc: Exception) -> tuple[str, str]:
    error = (getattr(exc, "response", None) or {}).get("Error", {}) or {}
    return str(error.get("Code", type(exc).__name__)), str(error.get("Message") or exc)


def _cannot(name: str, path: str, what: str, exc: Exception) -> OnlineCheck:
    code, message = _code(exc)
    return OnlineCheck(name, "could-not-check", f"could not {what}: {code}: {message}", path)


def _is(exc: Exception, codes: tuple[str, ...]) -> bool:
    code = _code(exc)[0]
    return any(code.startswith(c) for c in codes)


def _trusts_sagemaker(document: Any) -> bool:
    if isinstance(document, str):
        document = json.loads(unquote(document))
    statements = document.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        actions = statement.get("Action", [])
        actions = actions if isinstance(actions, list) else [actions]
        if statement.get("Effect") != "Allow" or not {"sts:AssumeRole", "sts:*", "*"} & set(actions):
            continue
        principal = statement.get("Principal", {})
        services = principal.get("Service", []) if isinstance(principal, dict) else principal
        services = services if isinstance(services, list) else [services]
        if SAGEMAKER_PRINCIPAL in services or "*" in services:
            return True
    return False


def check_role(session: Any, role_arn: str) -> OnlineCheck:
    """The execution role exists and its trust policy lets SageMaker assume it (IAM GetRole)."""
    from botocore.exceptions import BotoCoreError, ClientError

    path, name = "sagemaker.role", role_arn.split(":role/", 1)[-1].rsplit("/", 1)[-1]
    try:
        role = _client(session, "iam", None).get_role(RoleName=name)["Role"]
    except ClientError as exc:
        if _is(exc, ("NoSuchEntity",)):
            return OnlineCheck("role", "fail", f"role {name!r} does not exist in this account ({role_arn})", path)
        return _cannot("role", path, f"read role {name!r}", exc)
    except BotoCoreError as exc:
        return _cannot("role", path, f"read role {name!r}", exc)
    if role.get("Arn") and role["Arn"] != role_arn:
        return OnlineCheck("role", "fail", f"the role named {name!r} is {role['Arn']}, not {role_arn}", path)
    try:
        trusted = _trusts_sagemaker(role.get("AssumeRolePolicyDocument", {}))
    except (ValueError, AttributeError) as exc:
        return OnlineCheck("role", "could-not-check", f"could not read the trust policy of {name!r}: {exc}", path)
    if not trusted:
        return OnlineCheck(
            "role",
            "fail",
            f"role {name!r} does not trust {SAGEMAKER_PRINCIPAL} (its trust policy has no Allow "
            f"sts:AssumeRole for that service), so SageMaker cannot assume it",
            path,
        )
    return OnlineCheck("role", "pass", f"role {name!r} exists and trusts {SAGEMAKER_PRINCIPAL}", path)


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key.rstrip("/")


def check_bucket(session: Any, uri: str, region: str, path: str) -> OnlineCheck:
    """The bucket of ``uri`` exists and is in the job's region (S3 GetBucketLocation)."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket = _split(uri)[0]
    try:
        answer = _client(session, "s3", region).get_bucket_location(Bucket=bucket)
    except ClientError as exc:
        if _is(exc, ("NoSuchBucket", "404")):
            return OnlineCheck("bucket", "fail", f"bucket {bucket!r} does not exist", path)
        return _cannot("bucket", path, f"read where bucket {bucket!r} is", exc)
    except BotoCoreError as exc:
        return _cannot("bucket", path, f"read where bucket {bucket!r} is", exc)
    where = answer.get("LocationConstraint") or "us-east-1"
    where = "eu-west-1" if where == "EU" else where
    if where != region:
        return OnlineCheck(
            "bucket",
            "fail",
            f"bucket {bucket!r} is in {where}; the job runs in {region}, and SageMaker training "
            "reads and writes S3 in the job's own region",
            path,
        )
    return OnlineCheck("bucket", "pass", f"bucket {bucket!r} exists in {region}", path)


def check_manifest(session: Any, data_uri: str, region: str) -> OnlineCheck:
    """The prepared dataset's ``manifest.json`` is where the request's channels point (S3 HeadObject)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from ..data._result import MANIFEST

    path = "sagemaker.data_uri"
    bucket, prefix = _split(data_uri)
    key = f"{prefix}/{MANIFEST}" if prefix else MANIFEST
    try:
        _client(session, "s3", region).head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if _is(exc, _MISSING) and not _is(exc, _CANNOT_TELL):
            return OnlineCheck(
                "data",
                "fail",
                f"no prepared dataset at {data_uri} (s3://{bucket}/{key} is missing); run "
                "`hfst prepare` for this spec first",
                path,
            )
        return _cannot("data", path, f"read s3://{bucket}/{key}", exc)
    except BotoCoreError as exc:
        return _cannot("data", path, f"read s3://{bucket}/{key}", exc)
    return OnlineCheck("data", "pass", f"the prepared dataset's manifest is at s3://{bucket}/{key}", path)


def _find_quota(client: Any, operation: str, name: str) -> float | None:
    kwargs: dict[str, Any] = {"ServiceCode": QUOTA_SERVICE_CODE}
    while True:
        page = getattr(client, operation)(**kwargs)
        for quota in page.get("Quotas", []):
            if quota.get("QuotaName") == name and quota.get("Value") is not None:
                return float(quota["Value"])
        if not page.get("NextToken"):
            return None
        kwargs["NextToken"] = page["NextToken"]


def check_quota(session: Any, instance_type: str, needed: int, region: str) -> OnlineCheck:
    """The account's "<instance type> for training job usage" quota covers the parallel trials (Service Quotas)."""
    from botocore.exceptions import BotoCoreError, ClientError

    path, name = "tuning.max_parallel_jobs", f"{instance_type} for training job usage"
    client = _client(session, "service-quotas", region)
    try:
        value, kind = _find_quota(client, "list_service_quotas", name), "applied"
        if value is None:
            value, kind = _find_quota(client, "list_aws_default_service_quotas", name), "default"
    except (ClientError, BotoCoreError) as exc:
        return _cannot("quota", path, f"read the quota {name!r}", exc)
    if value is None:
        return OnlineCheck("quota", "could-not-check", f"no quota named {name!r} is listed in {region}", path)
    if value < needed:
        return OnlineCheck(
            "quota",
            "fail",
            f"the {kind} quota {name!r} in {region} is {value:g}; {needed} trials at once need "
            f"{needed} (lower tuning.max_parallel_jobs or request an increase in Service Quotas)",
            path,
        )
    return OnlineCheck("quota", "pass", f"the {kind} quota {name!r} is {value:g} (>= {needed})", path)


def check_tracking(spec: TuningJobSpec, session: Any | None = None, timeout: float = 10.0) -> OnlineCheck:
    """Whether the spec's MLflow tracking server answers (``tracking.mlflow.tracking_uri``).

    An ``http(s)`` server must answer ``GET /health``; a SageMaker managed server must be
    ``Created`` (``DescribeMlflowTrackingServer``); a local folder always passes (it is made when used).
    """
    path = "tracking.mlflow.tracking_uri"
    mlflow = spec.tracking.mlflow if spec.tracking else None
    if mlflow is None:
        return OnlineCheck("tracking server", "could-not-check", "the spec has no tracking.mlflow section", path)
    if mlflow.kind == "path":
        return OnlineCheck("tracking server", "pass", f"a local store in {mlflow.tracking_uri}", path)
    if mlflow.kind == "http":
        import urllib.error
        import urllib.request

        url = mlflow.tracking_uri.rstrip("/") + "/health"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as answer:
                return OnlineCheck("tracking server", "pass", f"{url} answered {answer.status}", path)
        except urllib.error.HTTPError as exc:
            return OnlineCheck("tracking server", "fail", f"{url} answered {exc.code}", path)
        except (OSError, ValueError) as exc:
            return OnlineCheck("tracking server", "fail", f"{url} did not answer: {exc}", path)
    region = mlflow.region
    name = mlflow.tracking_uri.rsplit("/", 1)[-1]
    if session is None:
        import boto3

        session = boto3.Session(region_name=region)
    try:
        answer = _client(session, "sagemaker", region).describe_mlflow_tracking_server(TrackingServerName=name)
    except Exception as exc:
        if _is(exc, _MISSING) or "ResourceNotFound" in _code(exc)[0]:
            return OnlineCheck("tracking server", "fail", f"no MLflow tracking server {name!r} in {region}", path)
        return _cannot("tracking server", path, f"describe MLflow tracking server {name!r}", exc)
    status = str(answer.get("TrackingServerStatus", ""))
    if status not in ("Created", "Updated", "Started"):
        return OnlineCheck(
            "tracking server", "fail", f"MLflow tracking server {name!r} is {status or 'not ready'}", path
        )
    return OnlineCheck("tracking server", "pass", f"MLflow tracking server {name!r} is {status}", path)


def check_online(spec: TuningJobSpec, *, session: Any | None = None, data_uri: str | None = None) -> list[OnlineCheck]:
    """Every read-only check of a SageMaker job against the account (role, buckets, prepared data, quota).

    Args:
        spec: The job spec (its ``sagemaker`` section says where the job runs).
        session: A ``boto3.Session`` (default: a new one for the spec's region; the usual credential chain).
        data_uri: Where the prepared channels are (default: where the compiled request points).

    Returns:
        One ``OnlineCheck`` per check; a permission the credentials lack gives ``could-not-check``, never an error.
    """
    sm = spec.sagemaker
    tracking = [check_tracking(spec, session)] if spec.tracking and spec.tracking.mlflow else []
    if sm is None:
        return [
            OnlineCheck("sagemaker", "could-not-check", "the spec has no sagemaker section", "sagemaker"),
            *tracking,
        ]
    if session is None:
        import boto3

        session = boto3.Session(region_name=sm.region)
    from ..compile import default_data_uri

    data = (data_uri or default_data_uri(spec, "sagemaker")).rstrip("/")
    checks = [check_role(session, sm.role), check_bucket(session, sm.output_path, sm.region, "sagemaker.output_path")]
    if _split(data)[0] != _split(sm.output_path)[0]:
        checks.append(check_bucket(session, data, sm.region, "sagemaker.data_uri"))
    checks.append(check_manifest(session, data, sm.region))
    needed = spec.tuning.max_parallel_jobs * spec.training.instance_count
    checks.append(check_quota(session, spec.training.instance_type, needed, sm.region))
    return checks + tracking
