"""A real tiny tuning job on CPU whose trials run under torchrun (two gloo processes each).

The plain job (hfst tune -> data prepared -> the real training package -> best model -> endpoint) is
the article's flow, run as the user runs it (tests/test_article_flow.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hf_sagemaker_tuning.backends.local import LocalBackend

from .helpers import tiny_job_spec, tune_locally

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


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
