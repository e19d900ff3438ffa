"""start_training, describe_training, best_model and spec on the local backend; the detached coordinator."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hf_sagemaker_tuning import _process
from hf_sagemaker_tuning.backends.base import Backend
from hf_sagemaker_tuning.backends.local import LocalBackend
from hf_sagemaker_tuning.backends.local.training import kept_text
from hf_sagemaker_tuning.compile import TuningJobRequest
from hf_sagemaker_tuning.errors import BackendError
from hf_sagemaker_tuning.specs import parse_job_spec

from ..fakejob import fake_spec

MakeRequest = Callable[..., TuningJobRequest]
pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[LocalBackend]:
    be = LocalBackend(tmp_path / "jobs", poll_seconds=0.02, grace_seconds=2)
    yield be
    jobs = tmp_path / "jobs"
    for folder in jobs.iterdir() if jobs.is_dir() else []:  # leave no coordinator running
        be.stop(str(folder))
        be.wait(str(folder), poll_seconds=0.05, timeout=60)


def _children() -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        with open(task / "children", encoding="utf-8") as handle:
            found |= {int(pid) for pid in handle.read().split()}
    return found


def _write_saved(run_dir: Path, strategy: str, step: int, last: int) -> None:
    report = {
        "evaluations": [{"step": s} for s in range(step // 2, last + 1, max(1, step // 2))],
        "final": {"step": step},
        "saved": {"strategy": strategy, "metric_for_best_model": "eval_macro_f1", "step": step},
    }
    (run_dir / "output" / "data" / "metrics.json").write_text(json.dumps(report))


def test_kept_text(tmp_path: Path) -> None:
    (tmp_path / "output" / "data").mkdir(parents=True)
    assert kept_text(tmp_path) is None
    _write_saved(tmp_path, "best", 40, 120)
    assert kept_text(tmp_path) == "best by eval_macro_f1 (step 40 of 120)"
    _write_saved(tmp_path, "last", 120, 120)
    assert kept_text(tmp_path) == "last evaluation (step 120)"


def test_start_training_runs_to_the_end_and_becomes_the_best_model(
    backend: LocalBackend, make_request: MakeRequest
) -> None:
    backend.run(make_request(**{"tuning.max_jobs": 2, "tuning.max_parallel_jobs": 1}))
    job = "fake-job"
    trial_model = backend.best_model(job)
    best = backend.describe(job)["BestTrainingJob"]
    assert trial_model.source == "trial" and trial_model.training_job_name == best["TrainingJobName"]
    assert trial_model.objective == best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    assert Path(trial_model.location).is_dir() and trial_model.is_local

    seen: list[tuple[str, float]] = []
    backend.on_metric = lambda name, value: seen.append((name, value))
    hps = {**backend.describe(job)["TrainingJobDefinition"]["StaticHyperParameters"], **best["TunedHyperParameters"]}
    hps["epochs"] = "5"
    name = backend.start_training(job, hps, name="longer")
    assert name == "longer"
    run_dir = Path(backend.describe(job)["LocalJobDir"]) / "retrain" / "longer"
    assert (run_dir / "trial.json").is_file() and (run_dir / "input" / "config" / "hyperparameters.json").is_file()
    answer = backend.describe_training(job, name)
    assert answer["TrainingJobStatus"] == "Completed"
    assert answer["HyperParameters"] == hps
    finals = {m["MetricName"]: m["Value"] for m in answer["FinalMetricDataList"]}
    assert set(finals) == {"score", "eval_loss"}
    assert answer["ModelArtifacts"]["S3ModelArtifacts"] == str((run_dir / "model").resolve())
    assert len(backend.metric_history(job, name)["score"]) == 5
    assert [v for n, v in seen if n == "score"] == backend.metric_history(job, name)["score"]
    assert backend.wait_training(job, name)["TrainingJobStatus"] == "Completed"

    _write_saved(run_dir, "last", 50, 50)
    model = backend.best_model(job)
    assert (model.source, model.training_job_name, model.kept) == ("retrain", "longer", "last evaluation (step 50)")
    assert model.objective == finals["score"]
    from hf_sagemaker_tuning.deploy._local import resolve_model_dir

    (Path(model.location) / "code").mkdir(exist_ok=True)
    (Path(model.location) / "code" / "inference.py").write_text("# served\n")
    assert resolve_model_dir(backend.describe(job)["LocalJobDir"]) == Path(model.location).resolve()
    with pytest.raises(BackendError, match="already exists"):
        backend.start_training(job, hps, name="longer")


def test_a_failed_training_is_described_and_not_served(backend: LocalBackend, make_request: MakeRequest) -> None:
    backend.run(make_request(**{"tuning.max_jobs": 1, "tuning.max_parallel_jobs": 1}))
    best = backend.describe("fake-job")["BestTrainingJob"]
    hps = {"epochs": "2", "mode": "crash", "sagemaker_program": "fake_train.py"}
    hps["sagemaker_submit_directory"] = backend.describe("fake-job")["TrainingJobDefinition"]["StaticHyperParameters"][
        "sagemaker_submit_directory"
    ]
    name = backend.start_training("fake-job", hps)
    assert name.startswith("fake-job-retrain-")
    answer = backend.describe_training("fake-job", name)
    assert answer["TrainingJobStatus"] == "Failed" and "CUDA error" in answer["FailureReason"]
    assert backend.best_model("fake-job").training_job_name == best["TrainingJobName"]
    with pytest.raises(BackendError, match="no training job"):
        backend.describe_training("fake-job", "nope")


def test_two_retrains_started_in_one_second_get_their_own_names_and_folders(
    backend: LocalBackend, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend.run(make_request(**{"tuning.max_jobs": 1, "tuning.max_parallel_jobs": 1}))
    described = backend.describe("fake-job")
    hps = {**described["TrainingJobDefinition"]["StaticHyperParameters"], "epochs": "1"}
    # Both runs start within the same second: the wall clock reads the same time for both.
    monkeypatch.setattr(time, "strftime", lambda _format, *_: "101500")
    first = backend.start_training("fake-job", hps)
    second = backend.start_training("fake-job", hps)
    assert first != second and first.startswith("fake-job-retrain-") and second.startswith("fake-job-retrain-")
    retrain = Path(described["LocalJobDir"]) / "retrain"
    assert sorted(p.name for p in retrain.iterdir()) == sorted([first, second])
    for name in (first, second):
        assert backend.describe_training("fake-job", name)["TrainingJobStatus"] == "Completed"
    with pytest.raises(BackendError, match="already exists"):  # a chosen name is never reused
        backend.start_training("fake-job", hps, name=first)
    assert backend.describe_training("fake-job", first)["TrainingJobStatus"] == "Completed"


def test_best_model_without_a_completed_trial_is_an_error(backend: LocalBackend, make_request: MakeRequest) -> None:
    backend.run(
        make_request(
            **{
                "training.hyperparameters": {"epochs": 2, "seed": 1, "mode": "crash"},
                "tuning.max_jobs": 1,
                "tuning.max_parallel_jobs": 1,
            }
        )
    )
    with pytest.raises(BackendError, match="no completed trial"):
        backend.best_model("fake-job")


def test_the_spec_is_kept_with_the_job(backend: LocalBackend, make_request: MakeRequest) -> None:
    spec = parse_job_spec(fake_spec(**{"tuning.max_jobs": 1, "tuning.max_parallel_jobs": 1}))
    job = backend.submit(make_request(**{"tuning.max_jobs": 1, "tuning.max_parallel_jobs": 1}), spec)
    backend.wait(job, poll_seconds=0.05, timeout=60)
    assert backend.spec(job) == spec
    other = backend.submit(make_request("no-spec", **{"tuning.max_jobs": 1, "tuning.max_parallel_jobs": 1}))
    backend.wait(other, poll_seconds=0.05, timeout=60)
    assert backend.spec(other) is None


@pytest.mark.skipif(not _process.has_proc(), reason="reads /proc")
def test_detached_coordinator_gets_an_allow_listed_environment_and_is_not_our_child(
    backend: Backend, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "do-not-leak")
    monkeypatch.setenv("HF_TOKEN", "hf_do_not_leak")
    monkeypatch.setenv("MY_PRIVATE_TOKEN", "do-not-leak")
    monkeypatch.setenv("HFST_TEST_EPOCH_SECONDS", "0.5")
    assert isinstance(backend, LocalBackend)
    job = backend.submit(make_request(**{"tuning.max_jobs": 1, "tuning.max_parallel_jobs": 1}))
    state = backend.folder(job).state()
    pid = state.CoordinatorPid
    assert pid is not None and _process.is_alive(pid, state.CoordinatorStarted)
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    names = {entry.split(b"=", 1)[0].decode() for entry in environ if entry}
    assert not [n for n in names if n.startswith("AWS_") or n in ("HF_TOKEN", "MY_PRIVATE_TOKEN")], names
    assert {"PATH", "PYTHONPATH", "HFST_TEST_EPOCH_SECONDS"} <= names
    # Detached: the coordinator is not a child of this process, so nothing is left to reap
    # (no zombie, no "ResourceWarning: subprocess ... is still running" at exit).
    assert pid not in _children()
    assert backend.wait(job, poll_seconds=0.05, timeout=60)["HyperParameterTuningJobStatus"] == "Completed"
