"""A real tiny tuning job on CPU: hfst tune -> data prepared -> the real training package -> best model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hf_sagemaker_tuning.backends.local import LocalBackend

from .helpers import LEARNING_RATE, tiny_job_spec, tune_locally

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def test_tiny_job_end_to_end_on_cpu(tmp_path: Path, tiny_model: Path, tweeteval: Path) -> None:
    spec = tiny_job_spec(
        "e2e-tiny",
        tweeteval / "emotion",
        tiny_model,
        dataset={"max_train_samples": 96, "max_eval_samples": 48},
        hyperparameters={"epochs": 2},
        search_space={"learning_rate": LEARNING_RATE, "optimizer": {"kind": "categorical", "values": ["adamw", "sgd"]}},
        # two trials side by side; a queue longer than the parallel slots is the fake job's (test_local_backend)
        tuning={"max_jobs": 2, "max_parallel_jobs": 2, "random_seed": 1},
    )
    result, jobs = tune_locally(tmp_path, spec, "e2e-tiny-1")
    assert result.exit_code == 0, result.output
    assert "best trial e2e-tiny-1-" in result.output

    backend = LocalBackend(jobs)
    answer = backend.describe("e2e-tiny-1")
    assert answer["HyperParameterTuningJobStatus"] == "Completed"
    trials = backend.list_trials("e2e-tiny-1")
    assert len(trials) == 2
    assert all(t.status == "Completed" for t in trials), [t.failure_reason for t in trials]
    for trial in trials:
        curve = backend.metric_history("e2e-tiny-1", trial.name)["eval_macro_f1"]
        assert len(curve) == 3  # two epochs, then the kept model's line, last
        assert trial.objective == curve[-1]
    model = Path(backend.best_model("e2e-tiny-1").location)
    config = json.loads((model / "config.json").read_text())
    assert sorted(config["id2label"].values()) == ["anger", "joy", "optimism", "sadness"]
    assert (model / "code" / "inference.py").is_file()
    assert (model / "model.safetensors").is_file()

    # the best model behind a local endpoint answers with the dataset's label names
    from hf_sagemaker_tuning.deploy import deploy_local

    with deploy_local(jobs / "e2e-tiny-1", port=0, name="e2e-tiny", threads=1) as endpoint:
        single = endpoint.predict("Best thing ever!")
        batch = endpoint.predict(["I am so angry", "what a lovely day"])
    assert single[0]["label"] in {"anger", "joy", "optimism", "sadness"}
    assert [len(answer) for answer in batch] == [1, 1]


def test_tiny_job_with_processes_per_trial_runs_distributed_on_cpu(
    tmp_path: Path, tiny_model: Path, tweeteval: Path
) -> None:
    """``local.processes_per_trial: 2``: each trial is torchrun + gloo, two ranks, rank 0's metric lines only."""
    spec = tiny_job_spec(
        "e2e-ddp",
        tweeteval / "emotion",
        tiny_model,
        dataset={"max_length": 32, "max_eval_samples": 31},
        hyperparameters={"epochs": 2, "per_device_train_batch_size": 8},
        # one trial: what is checked is each trial's torchrun run; several trials under torchrun, one
        # after another, are run by tests/backends/test_local_distributed.py with the fake job
        tuning={"max_jobs": 1, "max_parallel_jobs": 1, "random_seed": 1},
        local={"processes_per_trial": 2},
    )
    result, jobs = tune_locally(tmp_path, spec, "e2e-ddp-1")
    assert result.exit_code == 0, result.output

    backend = LocalBackend(jobs)
    assert backend.describe("e2e-ddp-1")["HyperParameterTuningJobStatus"] == "Completed"
    trials = backend.list_trials("e2e-ddp-1")
    assert len(trials) == 1
    assert all(t.status == "Completed" for t in trials), [t.failure_reason for t in trials]
    for trial in trials:
        log = backend.logs("e2e-ddp-1", trial.name)
        metric_lines = [line for line in log.splitlines() if line.startswith("hfst_metric")]
        assert len(metric_lines) == 3, log  # two evaluations + the kept model's line, rank 0 only
        assert len(backend.metric_history("e2e-ddp-1", trial.name)["eval_macro_f1"]) == 3
        batch = [line for line in log.splitlines() if "hfst: global batch" in line]
        assert len(batch) == 1 and "x 2 process(es)" in batch[0] and "backend gloo" in batch[0], batch
