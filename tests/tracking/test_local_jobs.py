"""Local jobs (the honest fake training script) logged live by the coordinator, and ``hfst track`` afterwards.

Checked against a real ``mlflow server`` with ``MlflowClient``: the run tree, params, metrics with
their steps, tags, idempotence, marker credentials that must never reach MLflow, and an unreachable
server that costs one warning and no trial.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from hf_sagemaker_tuning.backends.local import LocalBackend
from hf_sagemaker_tuning.compile import TuningJobRequest, compile_request
from hf_sagemaker_tuning.contract import metric_regex
from hf_sagemaker_tuning.specs import parse_job_spec
from hf_sagemaker_tuning.tracking import track
from hf_sagemaker_tuning.tracking._store import epoch_ms

from ..conftest import REPO
from ..fakejob import fake_spec
from ..helpers import free_port
from .conftest import runs_of

pytestmark = pytest.mark.timeout(300)

#: Marker values that must never reach MLflow (params, tags, artifacts).
SECRET_PASSWORD = "pw-MARKER-7f3a9c"
AWS_SECRET = "aws-MARKER-0b1c2d"
HUB_TOKEN = "hf_MARKERabcdefghijklmnopqrstuv"
MARKERS = (SECRET_PASSWORD, AWS_SECRET, HUB_TOKEN, "MARKER")


def _spec(tracking: dict[str, Any] | None, name: str = "fake") -> dict[str, Any]:
    spec = fake_spec(
        **{
            "name": name,
            "tuning.max_jobs": 3,
            "training.declared_hyperparameters": ["x", "y", "opt", "mode", "epochs", "seed", "origin", "notes"],
            "training.hyperparameters": {
                "epochs": 3,
                "seed": 1,
                "origin": f"https://someone:{SECRET_PASSWORD}@example.com/data",
                "notes": f"made with {HUB_TOKEN}",
            },
        }
    )
    if tracking is not None:
        spec["tracking"] = tracking
    return spec


def _run_job(tmp_path: Path, channels: Path, spec_dict: dict[str, Any], job_name: str) -> tuple[LocalBackend, str]:
    spec = parse_job_spec(spec_dict)
    request: TuningJobRequest = compile_request(spec, target="local", job_name=job_name, data_uri=channels.as_uri())
    backend = LocalBackend(tmp_path / "jobs", poll_seconds=0.05, grace_seconds=2)
    job = backend.submit(request, spec)
    assert backend.wait(job, poll_seconds=0.2, timeout=240)["HyperParameterTuningJobStatus"] == "Completed"
    return backend, job


def _finished_tree(uri: str, experiment: str, job: str) -> dict[str, Any]:
    """The tree once the coordinator has concluded it (it logs the parent just after the job ends)."""
    deadline = time.monotonic() + 180
    while True:
        try:
            tree = _tree(uri, experiment, job)
            if tree["parent"].info.status == "FINISHED":
                return tree
        except AssertionError:
            pass
        assert time.monotonic() < deadline, "the parent run did not finish within 180 s of the job"
        time.sleep(1)


def _tree(uri: str, experiment: str, job: str) -> dict[str, Any]:
    """The job's runs: parent, children by name, and every child's params, tags and metric histories."""
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    runs = [r for r in runs_of(uri, experiment) if r.data.tags.get("hfst.job") == job]  # type: ignore[attr-defined]
    parents = [r for r in runs if r.data.tags.get("hfst.kind") == "job"]
    assert len(parents) == 1, [r.data.tags for r in runs]
    parent = parents[0]
    children = {r.data.tags["hfst.run"]: r for r in runs if r is not parent}
    histories = {
        name: {
            key: [(m.step, m.value) for m in client.get_metric_history(r.info.run_id, key)] for key in r.data.metrics
        }
        for name, r in children.items()
    }
    return {"client": client, "parent": parent, "children": children, "histories": histories, "count": len(runs)}


def _no_marker(tree: dict[str, Any], tmp_path: Path) -> None:
    client = tree["client"]
    everything = [tree["parent"], *tree["children"].values()]
    for run in everything:
        text = json.dumps({"params": run.data.params, "tags": run.data.tags})
        assert not any(m in text for m in MARKERS), text
        folder = tmp_path / "artifacts" / run.info.run_id
        for artifact in client.list_artifacts(run.info.run_id):
            if not artifact.is_dir:
                path = Path(client.download_artifacts(run.info.run_id, artifact.path, str(folder)))
                content = path.read_text(encoding="utf-8", errors="replace")
                assert not any(m in content for m in MARKERS), (artifact.path, content[:2000])


@pytest.mark.slow
def test_a_local_job_is_logged_live_and_track_adds_nothing(
    tmp_path: Path, channels: Path, mlflow_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    tracking = {"mlflow": {"tracking_uri": mlflow_server, "experiment": "live-fake"}}
    backend, job = _run_job(tmp_path, channels, _spec(tracking), "fake-live")
    trials = backend.list_trials(job)
    tree = _finished_tree(mlflow_server, "live-fake", job)
    assert set(tree["children"]) == {t.name for t in trials}
    parent = tree["parent"]
    assert parent.info.status == "FINISHED"
    best = backend.best_trial(job)
    assert best is not None
    assert parent.data.tags["best_trial"] == best.name
    assert parent.data.metrics["best_objective"] == pytest.approx(best.objective)
    for trial in trials:
        child = tree["children"][trial.name]
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert child.data.tags["status"] == trial.status == "Completed"
        assert child.data.tags["backend"] == "local"
        assert child.info.status == "FINISHED"
        for name, value in trial.hyperparameters.items():
            assert child.data.params[name] == value
        assert child.data.params["epochs"] == "3"
        assert child.data.params["origin"] == "https://***@example.com/data"
        assert child.data.params["notes"] == "made with ***"
        assert not any(k.startswith("sagemaker_") for k in child.data.params)
        curve = backend.metric_history(job, trial.name)["score"]
        assert tree["histories"][trial.name]["score"] == [(i + 1, v) for i, v in enumerate(curve)]
        assert tree["histories"][trial.name]["objective"] == [(len(curve), pytest.approx(trial.objective))]
    artifacts = {a.path for a in tree["client"].list_artifacts(parent.info.run_id)}
    assert {"spec.yaml", "request.json", "report.html"} <= artifacts
    _no_marker(tree, tmp_path)

    # after the fact, twice: nothing new, not a metric value more
    for _ in range(2):
        result = track(job, backend)
        assert result.runs["trial"] == len(trials)
        again = _tree(mlflow_server, "live-fake", job)
        assert again["count"] == tree["count"]
        assert again["histories"] == tree["histories"]


@pytest.mark.slow
def test_track_on_a_job_without_tracking_makes_the_same_tree(
    tmp_path: Path, channels: Path, mlflow_server: str
) -> None:
    backend, job = _run_job(tmp_path, channels, _spec(None), "fake-after")
    cli = [sys.executable, "-c", "from hf_sagemaker_tuning.cli import main; main()", "track", job]
    cli += ["--jobs-dir", str(tmp_path / "jobs")]
    refused = subprocess.run(cli, capture_output=True, text=True, timeout=240, check=False)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "has no tracking: section; give the tracking URI (--tracking-uri)" in refused.stderr
    cli += ["--tracking-uri", mlflow_server, "--experiment", "after-fake", "--no-report"]
    for _ in range(2):
        done = subprocess.run(cli, capture_output=True, text=True, timeout=240, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
        assert f"tracked {job}" in done.stdout and "3 trials" in done.stdout
    tree = _tree(mlflow_server, "after-fake", job)
    assert tree["count"] == 4
    for trial in backend.list_trials(job):
        curve = backend.metric_history(job, trial.name)["score"]
        assert tree["histories"][trial.name]["score"] == [(i + 1, v) for i, v in enumerate(curve)]
        assert tree["children"][trial.name].data.params["x"] == trial.hyperparameters["x"]
        # Written after the fact, each run still says when its trial ran (not when track ran).
        assert trial.start_time is not None and trial.end_time is not None
        info = tree["children"][trial.name].info
        assert (info.start_time, info.end_time) == (epoch_ms(trial.start_time), epoch_ms(trial.end_time))
    created = backend.describe(job)["CreationTime"]
    assert tree["parent"].info.start_time == epoch_ms(created) <= tree["children"][trial.name].info.start_time


@pytest.mark.slow
def test_an_unreachable_server_is_one_warning_and_the_job_completes(tmp_path: Path, channels: Path) -> None:
    tracking = {"mlflow": {"tracking_uri": f"http://127.0.0.1:{free_port()}", "experiment": "nowhere"}}
    backend, job = _run_job(tmp_path, channels, _spec(tracking), "fake-unreachable")
    assert all(t.status == "Completed" for t in backend.list_trials(job))
    log = (tmp_path / "jobs" / job / "coordinator.log").read_text(encoding="utf-8")
    warnings = [line for line in log.splitlines() if " WARNING " in line]
    assert len(warnings) == 1, warnings
    assert "MLflow tracking of fake-unreachable failed" in warnings[0] and "hfst track" in warnings[0]


@pytest.mark.slow
def test_what_a_trial_logs_from_its_container_is_what_track_writes(
    tmp_path: Path, channels: Path, mlflow_server: str
) -> None:
    """The training package's live logging (SageMaker) and ``track`` make one tree: track adds nothing."""
    sys.path.insert(0, str(REPO / "training"))
    try:
        container = importlib.import_module("hfst_train.tracking")
    finally:
        sys.path.remove(str(REPO / "training"))
    spec = _spec(None)
    spec["objective"]["extra_metrics"].append({"name": "step", "regex": metric_regex("step")})
    backend, job = _run_job(tmp_path, channels, spec, "fake-container")
    static = backend.describe(job)["TrainingJobDefinition"]["StaticHyperParameters"]
    env = {"HFST_MLFLOW_TRACKING_URI": mlflow_server, "HFST_MLFLOW_EXPERIMENT": "container-fake"}
    env["HFST_TRACKING_JOB"] = job
    trials = backend.list_trials(job)
    for trial in trials:  # each trial as its container logs it: every metric line, then the end
        history = backend.metric_history(job, trial.name)
        hyperparameters = {**static, **trial.hyperparameters, "_tuning_objective_metric": "score"}
        with container.Tracker({**env, "TRAINING_JOB_NAME": trial.name}, hyperparameters, tmp_path) as tracker:
            for i, step in enumerate(history["step"]):
                tracker.log({"step": int(step), "score": history["score"][i], "eval_loss": history["eval_loss"][i]})
    live = _tree(mlflow_server, "container-fake", job)
    assert set(live["children"]) == {t.name for t in trials}
    track(job, backend, tracking_uri=mlflow_server, experiment="container-fake", report=False)
    after = _tree(mlflow_server, "container-fake", job)
    assert after["count"] == live["count"] == len(trials) + 1
    assert after["histories"] == live["histories"]
    for name, run in after["children"].items():
        assert run.data.params == live["children"][name].data.params
        assert run.data.tags["status"] == "Completed" and run.info.status == "FINISHED"
