"""The SageMaker backend on the shipped offline SageMaker (``hf_sagemaker_tuning.testing.fake_sagemaker``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import yaml

from hf_sagemaker_tuning.backends.sagemaker import SageMakerBackend
from hf_sagemaker_tuning.specs import TuningJobSpec, parse_job_spec
from hf_sagemaker_tuning.testing import FakeSageMaker, fake_sagemaker
from hf_sagemaker_tuning.testing._amt import AmtBridge

from ..conftest import EXAMPLE_SPEC

BUCKET = "my-bucket"  # the example spec's output bucket


@dataclass
class MotoSageMaker:
    session: Any
    amt: AmtBridge
    backend: SageMakerBackend
    fake: FakeSageMaker


def new_session() -> Any:
    """A ``boto3.Session`` in us-east-1 (inside the fake: with the bridge, as every session there)."""
    import boto3

    return boto3.Session(region_name="us-east-1")


@contextmanager
def moto_sagemaker() -> Iterator[MotoSageMaker]:
    """A ``SageMakerBackend`` on the fake, whose listing pages hold two trials (callers must follow them)."""
    with fake_sagemaker(bucket=BUCKET, page_size=2) as fake:
        backend = SageMakerBackend(boto_session=fake.session)
        yield MotoSageMaker(session=fake.session, amt=fake.bridge, backend=backend, fake=fake)


def example_spec(max_jobs: int = 5) -> TuningJobSpec:
    """The article's example spec with a small budget (moto makes one training job per trial)."""
    data = yaml.safe_load(EXAMPLE_SPEC.read_text(encoding="utf-8"))
    data["tuning"] = {**data["tuning"], "max_jobs": max_jobs, "max_parallel_jobs": 2}
    return parse_job_spec(data)
