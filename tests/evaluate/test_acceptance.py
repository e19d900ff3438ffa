"""Acceptance: a local job on TweetEval emotion ends with a test score and a confusion matrix in the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hf_sagemaker_tuning.cli import app
from tests.helpers import tiny_job_spec, tune_locally

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def test_tune_then_evaluate_puts_the_test_score_in_results_status_and_report(
    tmp_path: Path, tweeteval: Path, emotion_model: Path
) -> None:
    spec = tiny_job_spec(
        "emotion-honest",
        tweeteval / "emotion",  # train, validation and test files: test is kept whole
        emotion_model,
        dataset={"task": "tweet_eval/emotion", "max_train_samples": 96, "max_eval_samples": 48},
        hyperparameters={"metric_for_best_model": "eval_official"},
        metric="eval_official",  # the leaderboard's number (macro-F1 for emotion)
        tuning={"max_jobs": 1, "max_parallel_jobs": 1, "random_seed": 3},  # the evaluation is the point
    )
    tuned, jobs = tune_locally(tmp_path, spec, "emo-1")
    data = tmp_path / "data"
    runner = CliRunner()
    assert tuned.exit_code == 0, tuned.output
    assert "best trial emo-1-" in tuned.output
    assert json.loads((data / "manifest.json").read_text())["splits"]["test"]["rows"] == 1421

    scored = runner.invoke(app, ["evaluate", "emo-1", "--jobs-dir", str(jobs)])
    assert scored.exit_code == 0, scored.output
    assert "Test score of emo-1-" in scored.output
    assert "macro-F1" in scored.output
    assert "on 1,421 test examples" in scored.output
    assert "validation" in scored.output  # side by side with the model's validation figures
    (saved,) = (jobs / "emo-1" / "evaluations").glob("test-*.json")
    evaluation = json.loads(saved.read_text())
    assert evaluation["examples"] == 1421
    assert sum(map(sum, evaluation["confusion_matrix"])) == 1421
    assert evaluation["metrics"]["eval_official"] == pytest.approx(evaluation["metrics"]["eval_macro_f1"])
    assert evaluation["validation"]["eval_official"] > 0

    again = runner.invoke(app, ["evaluate", "emo-1", "--jobs-dir", str(jobs)])
    assert again.exit_code == 0
    assert json.loads(saved.read_text()) == evaluation  # cached: not scored twice

    results = runner.invoke(app, ["results", "emo-1", "--jobs-dir", str(jobs)])
    assert "Test score of emo-1-" in results.output
    status = runner.invoke(app, ["status", "emo-1", "--jobs-dir", str(jobs)])
    assert "Test score of emo-1-" in status.output
    report = tmp_path / "report.html"
    written = runner.invoke(app, ["report", "emo-1", "--jobs-dir", str(jobs), "-o", str(report)])
    assert written.exit_code == 0, written.output
    page = report.read_text()
    section = page[page.index("<h2>Test score</h2>") :]
    assert "<b>1,421</b> test examples" in section
    assert "<th>validation</th><th>test</th>" in section
    assert 'alt="Confusion matrix (test)" src="data:image/png;base64,' in section
    for label in ("anger", "joy", "optimism", "sadness"):
        assert f"<td>{label}</td>" in section  # the per-class table
