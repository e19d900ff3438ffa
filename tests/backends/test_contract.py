"""The shared backend contract, run by the local backend and by the SageMaker backend under moto."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hf_sagemaker_tuning.backends.base import Backend
from hf_sagemaker_tuning.compile import TuningJobRequest, compile_request
from hf_sagemaker_tuning.specs import TuningJobSpec, parse_job_spec
from hf_sagemaker_tuning.testing.backend_contract import BackendContract, JobRequest, SubmitRunning

from .conftest import fake_spec
from .sagemaker_env import example_spec, moto_sagemaker

pytestmark = pytest.mark.timeout(120)

#: The local job: three fast trials, two at a time.
_LOCAL = {"tuning.max_jobs": 3, "tuning.max_parallel_jobs": 2}
#: A local job whose trials take seconds (150 metric lines, 0.02 s apart), so it can be caught running.
_LOCAL_SLOW = {**_LOCAL, "training.hyperparameters": {"epochs": 150, "seed": 1}}


class TestLocalBackendContract(BackendContract):
    @pytest.fixture
    def backend(self, tmp_path: Path) -> Iterator[Backend]:
        from hf_sagemaker_tuning.backends.local import LocalBackend

        backend = LocalBackend(tmp_path / "jobs", poll_seconds=0.02, grace_seconds=2)
        yield backend
        jobs = tmp_path / "jobs"
        for folder in jobs.iterdir() if jobs.is_dir() else []:  # leave no coordinator running after the test
            backend.stop(str(folder))
            backend.wait(str(folder), poll_seconds=0.05, timeout=60)

    @pytest.fixture
    def job_spec(self) -> TuningJobSpec:
        return parse_job_spec(fake_spec(**_LOCAL))

    @pytest.fixture
    def job_request(self, make_request: Callable[..., TuningJobRequest]) -> JobRequest:
        return lambda name: make_request(name, **_LOCAL)

    @pytest.fixture
    def submit_running(self, backend: Backend, make_request: Callable[..., TuningJobRequest]) -> SubmitRunning:
        def submit(name: str) -> str:
            job = backend.submit(make_request(name, **_LOCAL_SLOW))
            assert backend.describe(job)["HyperParameterTuningJobStatus"] == "InProgress"
            return job

        return submit


@pytest.mark.aws
class TestSageMakerBackendContract(BackendContract):
    @pytest.fixture
    def env(self) -> Iterator[Any]:
        with moto_sagemaker() as env:
            yield env

    @pytest.fixture
    def backend(self, env: Any) -> Backend:
        return env.backend  # type: ignore[no-any-return]

    @pytest.fixture
    def job_spec(self) -> TuningJobSpec:
        return example_spec()

    @pytest.fixture
    def job_request(self, job_spec: TuningJobSpec) -> JobRequest:
        return lambda name: compile_request(job_spec, job_name=name)

    @pytest.fixture
    def submit_running(self, env: Any, job_request: JobRequest) -> SubmitRunning:
        def submit(name: str) -> str:
            env.amt.hold(name)
            return str(env.backend.submit(job_request(name)))

        return submit
