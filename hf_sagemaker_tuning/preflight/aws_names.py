"""AWS naming rules knowable offline: S3 bucket names, IAM role ARNs and which partition a region is in.

The spec's own patterns catch the shape (``s3://...``, ``arn:aws...:iam::...``); these rules are the rest of
what S3 and IAM refuse, each with the documentation it follows.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from ..specs._errors import shorten
from ..specs.job import TuningJobSpec
from ._findings import Findings

# S3 User Guide, "General purpose bucket naming rules"
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
BUCKET_MIN, BUCKET_MAX = 3, 63
_BUCKET_CHARS = re.compile(r"^[a-z0-9.\-]+$")
#: Prefixes S3 reserves (``xn--``: punycode; ``sthree-``: S3 itself; ``amzn-s3-demo-``: documentation examples).
RESERVED_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
#: Suffixes S3 reserves for access point aliases, Object Lambda aliases, directory buckets, table buckets, MRAPs.
RESERVED_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", "--x-s3", "--table-s3", ".mrap")

# IAM User Guide, "IAM identifiers" (ARN format) and the IAM API's CreateRole: RoleName is 1-64 of [\w+=,.@-];
# Path is 1-512 characters, "/" or "/.../", of printable ASCII (\u0021-\u007E).
_ROLE_ARN = re.compile(r"^arn:(?P<partition>[^:]*):iam::(?P<account>[^:]*):(?P<resource>.*)$")
_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$", re.ASCII)
_ROLE_PATH = re.compile(r"^/([\x21-\x7e]*/)?$")
ROLE_PATH_MAX = 512


def bucket_name_problem(bucket: str) -> str | None:
    """Why S3 refuses ``bucket`` as a general purpose bucket name, or ``None``."""
    if not BUCKET_MIN <= len(bucket) <= BUCKET_MAX:
        return f"bucket name {shorten(bucket)} is {len(bucket)} characters; S3 allows {BUCKET_MIN} to {BUCKET_MAX}"
    if not _BUCKET_CHARS.match(bucket):
        return f"bucket name {shorten(bucket)} may hold only lower-case letters, digits, dots and hyphens"
    if not (bucket[0].isalnum() and bucket[-1].isalnum()):
        return f"bucket name {shorten(bucket)} must start and end with a letter or digit"
    if ".." in bucket:
        return f"bucket name {shorten(bucket)} has two adjacent dots, which S3 does not allow"
    try:
        ipaddress.IPv4Address(bucket)
    except ValueError:
        pass
    else:
        return f"bucket name {shorten(bucket)} is formatted as an IP address, which S3 does not allow"
    for prefix in RESERVED_BUCKET_PREFIXES:
        if bucket.startswith(prefix):
            return f"bucket name {shorten(bucket)} starts with {prefix!r}, a prefix S3 reserves"
    for suffix in RESERVED_BUCKET_SUFFIXES:
        if bucket.endswith(suffix):
            return f"bucket name {shorten(bucket)} ends with {suffix!r}, a suffix S3 reserves"
    return None


def s3_uri_problem(uri: str) -> str | None:
    """Why the bucket of an ``s3://bucket/key`` URI breaks S3's bucket naming rules, or ``None``."""
    bucket = uri.removeprefix("s3://").split("/", 1)[0]
    problem = bucket_name_problem(bucket)
    return f"{problem} (S3 bucket naming rules)" if problem else None


@cache
def _partitions() -> tuple[dict[str, Any], ...]:
    """botocore's partition data (``botocore/data/partitions.json``): ids, region lists and region regexes."""
    from botocore.loaders import create_loader

    data = create_loader().load_data("partitions")
    return tuple(data["partitions"])


def partition_of(region: str) -> str | None:
    """The partition (``aws``, ``aws-cn``, ``aws-us-gov``...) ``region`` belongs to, per botocore; ``None``
    when no partition claims it."""
    for partition in _partitions():
        if region in partition.get("regions", {}):
            return str(partition["id"])
    for partition in _partitions():
        if re.match(partition["regionRegex"], region):
            return str(partition["id"])
    return None


def dns_suffix(region: str) -> str:
    """The domain of ``region``'s endpoints (``amazonaws.com``, ``amazonaws.com.cn``...), per botocore."""
    partition_id = partition_of(region)
    for partition in _partitions():
        if partition["id"] == partition_id:
            return str(partition["outputs"]["dnsSuffix"])
    return "amazonaws.com"


def role_arn_problems(arn: str, region: str | None) -> list[str]:
    """Why IAM (or SageMaker in ``region``) refuses ``arn`` as a role ARN; empty when nothing is wrong."""
    match = _ROLE_ARN.match(arn)
    if match is None:
        return [f"{shorten(arn)} is not an IAM role ARN (arn:<partition>:iam::<12-digit account>:role/<name>)"]
    problems = []
    account, resource = match["account"], match["resource"]
    if not re.fullmatch(r"\d{12}", account):
        problems.append(f"account {shorten(account)} of the role ARN is not a 12-digit AWS account id")
    if not resource.startswith("role/"):
        problems.append(f"the role ARN's resource {shorten(resource)} must start with 'role/' (role/<path/>name)")
    else:
        path, _, name = resource[len("role") :].rpartition("/")
        path += "/"
        if not _ROLE_NAME.match(name):
            problems.append(
                f"role name {shorten(name)} must be 1-64 letters, digits or +=,.@_- "
                f"({len(name)} characters given; IAM CreateRole RoleName)"
            )
        if len(path) > ROLE_PATH_MAX or not _ROLE_PATH.match(path):
            problems.append(f"role path {shorten(path)} must be '/' or '/<path>/' of printable characters, <= 512")
    if region is not None:
        expected = partition_of(region)
        if expected is not None and match["partition"] != expected:
            problems.append(
                f"the role is in partition {shorten(match['partition'])}, but region {region} is in partition "
                f"{expected}: SageMaker there cannot assume it (use arn:{expected}:iam::...)"
            )
    return problems


def s3_locations(spec: TuningJobSpec, *, sagemaker: bool = True) -> list[tuple[str, str]]:
    """Every ``(field, s3:// URI)`` of ``spec``: the data source, and with ``sagemaker`` (the job runs there)
    the data channels, output and checkpoint paths."""
    out = []
    if spec.dataset.source.startswith("s3://"):
        out.append(("dataset.source", spec.dataset.source))
    if not sagemaker:
        return out
    if spec.sagemaker is not None:
        out.append(("sagemaker.output_path", spec.sagemaker.output_path))
        if spec.sagemaker.data_uri is not None:
            out.append(("sagemaker.data_uri", spec.sagemaker.data_uri))
    if spec.training.checkpoint_s3_uri is not None:
        out.append(("training.checkpoint_s3_uri", spec.training.checkpoint_s3_uri))
    return out


def check_aws_names(spec: TuningJobSpec, findings: Findings, *, sagemaker: bool = True) -> None:
    """S3 bucket names of every location, and (for a SageMaker job) the role ARN against IAM's rules and the
    region's partition."""
    for where, uri in s3_locations(spec, sagemaker=sagemaker):
        problem = s3_uri_problem(uri)
        if problem:
            findings.add(where, problem)
    if sagemaker and spec.sagemaker is not None:
        for problem in role_arn_problems(spec.sagemaker.role, spec.sagemaker.region):
            findings.add("sagemaker.role", problem)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def check_raw_names(data: Mapping[str, Any], region: str | None, findings: Findings, *, sagemaker: bool) -> None:
    """S3 bucket names and the role ARN of a spec that did not validate (fields the spec accepted)."""
    bad = findings.error_paths()
    fields = [("dataset", "source")]
    if sagemaker:
        fields += [("sagemaker", "output_path"), ("sagemaker", "data_uri"), ("training", "checkpoint_s3_uri")]
    for section, key in fields:
        value = _mapping(data.get(section)).get(key)
        where = f"{section}.{key}"
        if isinstance(value, str) and value.startswith("s3://") and where not in bad:
            problem = s3_uri_problem(value)
            if problem:
                findings.add(where, problem)
    role = _mapping(data.get("sagemaker")).get("role")
    if sagemaker and isinstance(role, str) and "sagemaker.role" not in bad:
        for problem in role_arn_problems(role, region):
            findings.add("sagemaker.role", problem)
