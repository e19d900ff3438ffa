"""``open_backend`` and ``resolve_job``: the one way to build a backend and to find the one holding a job."""

from __future__ import annotations

from pathlib import Path

import pytest

from hf_sagemaker_tuning.backends import LocalBackend, SageMakerBackend, open_backend, resolve_job
from hf_sagemaker_tuning.errors import BackendError


def test_names_build_backends_and_an_unknown_name_is_refused(tmp_path: Path) -> None:
    assert isinstance(open_backend("local", jobs_dir=tmp_path), LocalBackend)
    assert isinstance(open_backend("sagemaker", region="eu-west-1"), SageMakerBackend)
    with pytest.raises(BackendError, match="unknown backend 'azure'; choose one of local, sagemaker"):
        open_backend("azure")


def test_a_name_that_is_no_local_job_says_so_when_sagemaker_cannot_be_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    with pytest.raises(BackendError, match=r"no local tuning job 'nope' in .*SageMaker can't be asked: no AWS region"):
        resolve_job("nope", jobs_dir=tmp_path)
    backend, job = resolve_job("nope", jobs_dir=tmp_path, region="us-east-1")
    assert backend.name == "sagemaker" and job == "nope"


def test_a_folder_that_is_no_job_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="is not a local tuning job folder"):
        resolve_job(tmp_path)
