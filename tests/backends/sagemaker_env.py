"""The SageMaker backend under in-process moto, with AMT's missing side bridged (``moto_amt``)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import yaml

from hf_sagemaker_tuning.backends.sagemaker import SageMakerBackend
from hf_sagemaker_tuning.specs import TuningJobSpec, parse_job_spec

from ..conftest import EXAMPLE_SPEC
from .moto_amt import MotoAmt

BUCKET = "my-bucket"  # the example spec's output bucket


@dataclass
class MotoSageMaker:
    session: Any
    amt: MotoAmt
    backend: SageMakerBackend


@functools.cache
def _loader() -> Any:
    import botocore.loaders

    return botocore.loaders.create_loader()


def new_session() -> Any:
    """A ``boto3.Session`` in us-east-1 that shares one botocore loader (service models read once)."""
    import boto3
    import botocore.session

    core = botocore.session.get_session()
    core.register_component("data_loader", _loader())
    return boto3.Session(botocore_session=core, region_name="us-east-1")


@contextmanager
def moto_sagemaker() -> Iterator[MotoSageMaker]:
    """A ``SageMakerBackend`` on a session whose SageMaker calls reach moto through ``MotoAmt``."""
    from moto import mock_aws

    with mock_aws():
        session = new_session()
        amt = MotoAmt(session, moto_session=new_session())
        session.client("s3").create_bucket(Bucket=BUCKET)
        yield MotoSageMaker(session=session, amt=amt, backend=SageMakerBackend(boto_session=session))


def example_spec(max_jobs: int = 5) -> TuningJobSpec:
    """The article's example spec with a small budget (moto makes one training job per trial)."""
    data = yaml.safe_load(EXAMPLE_SPEC.read_text(encoding="utf-8"))
    data["tuning"] = {**data["tuning"], "max_jobs": max_jobs, "max_parallel_jobs": 2}
    return parse_job_spec(data)
