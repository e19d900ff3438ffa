"""``evaluate`` on the local backend: a subprocess like a trial, read from its log, saved once per model and split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hf_sagemaker_tuning.backends.local import LocalBackend
from hf_sagemaker_tuning.cli import app
from hf_sagemaker_tuning.errors import BackendError
from hf_sagemaker_tuning.evaluate import Evaluation, evaluate, saved_evaluations
from hf_sagemaker_tuning.tuning_job import TuningJob

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def test_a_model_is_scored_once_on_the_whole_test_split_and_saved(
    local_job: tuple[LocalBackend, str], emotion_model: Path, prepared: Path
) -> None:
    backend, job = local_job
    first = evaluate(job, backend, model=emotion_model)
    manifest = json.loads((prepared / "manifest.json").read_text())
    assert first.examples == manifest["splits"]["test"]["rows"] == 48  # max_test_samples, not max_eval_samples
    assert first.label_names == ("anger", "joy", "optimism", "sadness")
    assert first.official_metric is not None
    assert first.official_metric["name"] == "macro-F1"
    assert first.metrics["eval_official"] == pytest.approx(first.metrics["eval_macro_f1"])
    assert sum(map(sum, first.confusion_matrix)) == 48
    assert first.model_source == "folder"
    assert first.validation is None  # a model from outside the job has no validation run here
    run = Path(job) / "retrain" / first.evaluation_job
    assert json.loads((run / "input" / "config" / "hyperparameters.json").read_text())["split"] == "test"
    assert sorted(p.name for p in (run / "input" / "data").iterdir()) == ["model", "test"]  # train/validation dropped
    assert (run / "output" / "data" / "evaluation.json").is_file()
    with pytest.raises(BackendError, match="no completed trial"):
        backend.best_model(job)  # an evaluation run leaves no model to serve

    again = evaluate(job, backend, model=emotion_model)
    assert again == first  # the saved result: no second run
    assert len(saved_evaluations(backend, job)) == 1
    forced = TuningJob(backend, job).evaluate(model=emotion_model, force=True)
    assert forced.evaluation_job != first.evaluation_job
    assert forced.metrics == pytest.approx(first.metrics)
    assert Evaluation.load(next((Path(job) / "evaluations").glob("test-*.json"))) == forced


def test_hfst_evaluate_prints_the_score_per_class_and_the_confusion_matrix(
    local_job: tuple[LocalBackend, str], emotion_model: Path
) -> None:
    _, job = local_job
    result = CliRunner().invoke(app, ["evaluate", job, "--model", str(emotion_model), "--split", "validation"])
    assert result.exit_code == 0, result.output
    assert "Validation score of" in result.output
    assert "macro-F1" in result.output
    assert "on 32 validation examples" in result.output
    assert "confusion matrix (rows: true, columns: predicted; anger, joy, optimism, sadness)" in result.output
    assert "saved with the job" in result.output


def test_user_mistakes_are_named_before_anything_runs(local_job: tuple[LocalBackend, str], tmp_path: Path) -> None:
    backend, job = local_job
    with pytest.raises(BackendError, match="no completed trial"):
        evaluate(job, backend)
    with pytest.raises(BackendError, match="is not a model folder"):
        evaluate(job, backend, model=tmp_path)
    with pytest.raises(BackendError, match="split 'dev' is not one of"):
        evaluate(job, backend, split="dev")
    result = CliRunner().invoke(app, ["evaluate", job, "--model", str(tmp_path)])
    assert result.exit_code == 2
    assert "is not a model folder" in result.output
    assert not (Path(job) / "retrain").exists()
