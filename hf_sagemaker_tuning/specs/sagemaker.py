"""Where the job runs on AWS: role, region, S3 locations, tags."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from ._base import Spec
from ._errors import shorten

_ROLE_ARN = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_S3_URI = re.compile(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$")


def _s3(value: str) -> str:
    if not _S3_URI.match(value):
        raise ValueError(f"{shorten(value)} is not an S3 URI (s3://bucket/prefix, lower-case bucket name)")
    return value.rstrip("/")


class SageMakerSpec(Spec):
    """AWS settings for the SageMaker backend."""

    role: str = Field(description="IAM role ARN that SageMaker assumes for the trials.")
    region: str = Field("us-east-1", description="AWS region.")
    output_path: str = Field(description="S3 prefix for model artifacts and uploaded code.")
    data_uri: str | None = Field(
        None, description="S3 prefix of the prepared channels (default: <output_path>/data/<job name>)."
    )
    tags: dict[str, str] = Field(default_factory=dict, description="Tags for the tuning job (at most 50).")

    @field_validator("role")
    @classmethod
    def _role(cls, value: str) -> str:
        if not _ROLE_ARN.match(value):
            raise ValueError(f"{shorten(value)} is not an IAM role ARN (arn:aws:iam::123456789012:role/Name)")
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not _REGION.match(value):
            raise ValueError(f"{shorten(value)} is not an AWS region name (e.g. us-east-1)")
        return value

    @field_validator("output_path")
    @classmethod
    def _output(cls, value: str) -> str:
        return _s3(value)

    @field_validator("data_uri")
    @classmethod
    def _data(cls, value: str | None) -> str | None:
        return None if value is None else _s3(value)

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > 50:
            raise ValueError(f"{len(value)} tags; AWS allows at most 50")
        for key, item in value.items():
            if not 1 <= len(key) <= 128 or key.lower().startswith("aws:"):
                raise ValueError(f"tag key {shorten(key)} must be 1-128 characters and not start with 'aws:'")
            if len(item) > 256:
                raise ValueError(f"tag {shorten(key)} value is longer than 256 characters")
        return value
