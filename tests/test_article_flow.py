"""The article's whole flow with the job object (examples/article_flow.py), run on the local backend."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hf_sagemaker_tuning.backends.local import LocalBackend

from .conftest import REPO
from .helpers import LEARNING_RATE, tiny_job_spec

EXAMPLE = REPO / "examples" / "article_flow.py"
LABELS = {"anger", "joy", "optimism", "sadness"}


def test_the_article_flow_fits_in_fifteen_statements() -> None:
    tree = ast.parse(EXAMPLE.read_text(encoding="utf-8"))
    statements = [node for node in ast.walk(tree) if isinstance(node, ast.stmt)]
    assert len(statements) <= 15, len(statements)


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_the_article_flow_runs_end_to_end_on_the_local_backend(
    tmp_path: Path, tweeteval: Path, tiny_model: Path
) -> None:
    spec = tiny_job_spec(
        "article-flow",
        tweeteval / "emotion",
        tiny_model,
        dataset={"max_length": 48},
        search_space={"learning_rate": {**LEARNING_RATE, "min": 1e-3}},
        tuning={"max_jobs": 2, "max_parallel_jobs": 2, "random_seed": 1},
    )
    (tmp_path / "job.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run(
        [sys.executable, str(EXAMPLE), "job.yaml"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
        stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    out = run.stdout
    assert "best:" in out and "retrained: Completed" in out
    assert "last evaluation" in out  # the longer run kept its final model, and says so
    answer = out.strip().splitlines()[-1]
    labels = ast.literal_eval(answer)
    assert labels[0]["label"] in LABELS
    assert (tmp_path / "article-report.html").is_file()
    # the endpoint served the retrained model and is gone
    registry = Path(os.environ["HFST_STATE_DIR"])
    assert not [p for p in registry.glob("*.json") if json.loads(p.read_text()).get("kind") == "local"]
    job = next((tmp_path / "jobs").iterdir())
    assert len(list((job / "retrain").iterdir())) == 1
    # what the job left: every trial's learning curve read from its log, its last value the objective,
    # and the best trial's model folder (labels by name, weights as safetensors, the serving code)
    backend = LocalBackend(tmp_path / "jobs")
    trials = backend.list_trials(job.name)
    assert [t.status for t in trials] == ["Completed", "Completed"], [t.failure_reason for t in trials]
    for trial in trials:
        curve = backend.metric_history(job.name, trial.name)["eval_macro_f1"]
        assert len(curve) == 2 and trial.objective == curve[-1]  # one epoch, then the kept model's line
    model = Path(backend.best_model(job.name).location)
    assert set(json.loads((model / "config.json").read_text())["id2label"].values()) == LABELS
    assert (model / "code" / "inference.py").is_file() and (model / "model.safetensors").is_file()
