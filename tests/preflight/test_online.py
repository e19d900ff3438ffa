"""`hfst validate --online`: read-only checks under moto (IAM, S3) and botocore's Stubber (Service Quotas,
which moto does not answer for SageMaker). Every check passes, fails or could not be made; never a crash."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from hf_sagemaker_tuning.preflight import check_online, online
from hf_sagemaker_tuning.specs import parse_job_spec

from ..specs._base_spec import spec_with
from ._util import hfst, write_spec

pytestmark = pytest.mark.aws
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
QUOTA = "ml.g5.xlarge for training job usage"


def _quotas(value: float | None, error: str | None = None) -> Any:
    """A service-quotas client answering ListServiceQuotas as the API documents it."""
    client = boto3.client("service-quotas", region_name="us-east-1")
    stub = Stubber(client)
    if error:
        stub.add_client_error("list_service_quotas", error, "not allowed", 400)
    else:
        quotas = (
            []
            if value is None
            else [
                {"ServiceCode": "sagemaker", "QuotaCode": "L-1", "QuotaName": QUOTA, "Value": value, "Adjustable": True}
            ]
        )
        stub.add_response("list_service_quotas", {"Quotas": quotas}, {"ServiceCode": "sagemaker"})
        if value is None:
            stub.add_response("list_aws_default_service_quotas", {"Quotas": []}, {"ServiceCode": "sagemaker"})
    stub.activate()
    return client


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """moto IAM + S3; the quota answer is whatever the test puts in ``account["quota"]``."""
    state: dict[str, Any] = {"quota": _quotas(10)}
    real = online._client

    def client(session: Any, service: str, region: str | None) -> Any:
        return state["quota"] if service == "service-quotas" else real(session, service, region)

    monkeypatch.setattr(online, "_client", client)
    with mock_aws():
        yield state


def _role(name: str = "SageMakerRole", trust: dict[str, Any] = TRUST) -> str:
    arn: str = boto3.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    return arn


def _bucket(name: str, region: str = "us-east-1") -> None:
    s3 = boto3.client("s3", region_name=region)
    config = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=name, **config)


def _spec(role: str, **changes: Any) -> Any:
    return parse_job_spec(spec_with(**{"sagemaker.role": role, **changes}))


def _by_name(checks: list[Any]) -> dict[str, Any]:
    return {c.name: c for c in checks}


def test_everything_in_place_passes(account: dict[str, Any]) -> None:
    role = _role()
    _bucket("my-bucket")
    boto3.client("s3").put_object(Bucket="my-bucket", Key="hpo/data/tweet-eval-distilbert/manifest.json", Body=b"{}")
    checks = check_online(_spec(role))
    assert {c.name: c.status for c in checks} == {"role": "pass", "bucket": "pass", "data": "pass", "quota": "pass"}


def test_each_problem_fails_with_its_reason_and_field(account: dict[str, Any]) -> None:
    untrusting = _role(
        "Other", {**TRUST, "Statement": [{**TRUST["Statement"][0], "Principal": {"Service": "ec2.amazonaws.com"}}]}
    )
    _bucket("my-bucket", "eu-west-1")
    account["quota"] = _quotas(1)
    checks = _by_name(check_online(_spec(untrusting, **{"tuning.max_parallel_jobs": 4})))
    assert checks["role"].status == "fail" and "does not trust sagemaker.amazonaws.com" in checks["role"].reason
    assert checks["bucket"].status == "fail" and "is in eu-west-1" in checks["bucket"].reason
    assert checks["bucket"].path == "sagemaker.output_path"
    assert checks["data"].status == "fail" and "hfst prepare" in checks["data"].reason
    assert checks["quota"].status == "fail" and "is 1; 4 trials at once" in checks["quota"].reason
    assert checks["quota"].path == "tuning.max_parallel_jobs"


def test_missing_role_and_bucket(account: dict[str, Any]) -> None:
    checks = _by_name(check_online(_spec("arn:aws:iam::123456789012:role/Nope")))
    assert checks["role"].status == "fail" and "does not exist" in checks["role"].reason
    assert checks["bucket"].status == "fail" and "does not exist" in checks["bucket"].reason


def test_unreadable_quota_and_access_denied_are_could_not_check(account: dict[str, Any]) -> None:
    _bucket("my-bucket")
    account["quota"] = _quotas(None)
    assert _by_name(check_online(_spec(_role())))["quota"].status == "could-not-check"
    account["quota"] = _quotas(None, error="AccessDeniedException")
    quota = _by_name(check_online(_spec(_role("Two"))))["quota"]
    assert quota.status == "could-not-check" and "AccessDeniedException" in quota.reason


def test_access_denied_on_iam_is_could_not_check() -> None:
    iam = boto3.client("iam", region_name="us-east-1")
    stub = Stubber(iam)
    stub.add_client_error("get_role", "AccessDenied", "User is not authorized to perform iam:GetRole", 403)
    session = boto3.Session(region_name="us-east-1")
    with stub:
        check = online.check_role(_FixedClient(session, iam), "arn:aws:iam::123456789012:role/R")
    assert check.status == "could-not-check" and "AccessDenied" in check.reason


class _FixedClient:
    """A session whose IAM client is the given (stubbed) one."""

    def __init__(self, session: Any, iam: Any) -> None:
        self.session, self.iam = session, iam

    def client(self, service: str, region_name: str | None = None) -> Any:
        return self.iam if service == "iam" else self.session.client(service, region_name=region_name)


def test_hfst_validate_online_reports_missing_role_other_region_bucket_and_small_quota(
    account: dict[str, Any], tmp_path: Path
) -> None:
    _bucket("my-bucket", "eu-west-1")
    account["quota"] = _quotas(1)
    path = write_spec(tmp_path, spec_with(**{"tuning.max_parallel_jobs": 2}))
    result = hfst("validate", str(path), "--online")
    assert result.exit_code == 2, result.output
    out = result.stderr
    assert "online role: fail: sagemaker.role: role 'SageMakerRole' does not exist" in out
    assert "online bucket: fail: sagemaker.output_path: bucket 'my-bucket' is in eu-west-1" in out
    assert "online quota: fail: tuning.max_parallel_jobs" in out and "is 1; 2 trials" in out
    account["quota"] = _quotas(1)
    report = json.loads(hfst("validate", str(path), "--online", "--format", "json").stdout)
    assert report["ok"] is False
    assert {c["name"] for c in report["online"] if c["status"] == "fail"} == {"role", "bucket", "data", "quota"}
