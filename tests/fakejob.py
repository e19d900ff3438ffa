"""A small, honest fake training job (tests/backends/fake/fake_train.py) for every test that needs one.

Registered as a pytest plugin by tests/conftest.py, so its fixtures reach every test folder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hf_sagemaker_tuning.compile import TuningJobRequest, compile_request
from hf_sagemaker_tuning.contract import metric_regex
from hf_sagemaker_tuning.specs import parse_job_spec

from .helpers import end_everything

FAKE_DIR = Path(__file__).resolve().parent / "backends" / "fake"
DECLARED = ["x", "y", "opt", "mode", "epochs", "seed"]


def fake_spec(**overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": "fake",
        "dataset": {"source": "./data"},
        "training": {
            "model": "fake-model",
            "entry_point": "fake_train.py",
            "source_dir": str(FAKE_DIR),
            "declared_hyperparameters": DECLARED,
            "hyperparameters": {"epochs": 3, "seed": 1},
            "max_runtime_seconds": 60,
        },
        "search_space": {
            "x": {"kind": "continuous", "min": 0.0, "max": 1.0},
            "y": {"kind": "continuous", "min": 0.01, "max": 1.0, "scaling": "logarithmic"},
            "opt": {"kind": "categorical", "values": ["a", "b", "c"]},
        },
        "objective": {
            "metric": "score",
            "direction": "maximize",
            "regex": metric_regex("score"),
            "extra_metrics": [{"name": "eval_loss", "regex": metric_regex("eval_loss")}],
        },
        "tuning": {"strategy": "random", "max_jobs": 4, "max_parallel_jobs": 2, "random_seed": 3},
    }
    for key, value in overrides.items():
        node = spec
        *parents, last = key.split(".")
        for p in parents:
            node = node[p]
        if value is ...:
            node.pop(last, None)
        else:
            node[last] = value
    return spec


@pytest.fixture
def channels(tmp_path: Path) -> Path:
    data = tmp_path / "prepared"
    for name in ("train", "validation"):
        (data / name).mkdir(parents=True)
    return data


@pytest.fixture
def make_request(channels: Path) -> Callable[..., TuningJobRequest]:
    def make(job_name: str = "fake-job", **overrides: Any) -> TuningJobRequest:
        spec = parse_job_spec(fake_spec(**overrides))
        return compile_request(spec, target="local", job_name=job_name, data_uri=channels.as_uri())

    return make


@pytest.fixture
def no_process_left(tmp_path: Path) -> Iterator[None]:
    """Teardown: no coordinator or trial of a job under the test's ``tmp_path`` outlives the test.

    Use with ``pytest.mark.usefixtures("no_process_left")`` in modules whose tests start detached jobs.
    """
    yield
    end_everything(tmp_path)
