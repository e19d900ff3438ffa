"""The local backend on a fake training script: strategies, early stopping, completion, faults, resume."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hf_sagemaker_tuning.backends.local import LocalBackend
from hf_sagemaker_tuning.compile import TuningJobRequest
from hf_sagemaker_tuning.errors import BackendError

from ..helpers import kill_coordinator, wait_for

MakeRequest = Callable[..., TuningJobRequest]
pytestmark = pytest.mark.timeout(120)


def backend(tmp_path: Path, **kw: Any) -> LocalBackend:
    return LocalBackend(tmp_path / "jobs", poll_seconds=0.02, grace_seconds=2, **kw)


def tuned(be: LocalBackend, job: str) -> list[dict[str, str]]:
    return [t.hyperparameters for t in be.list_trials(job)]


def test_random_job_runs_every_trial_inside_the_ranges(tmp_path: Path, make_request: MakeRequest) -> None:
    be = backend(tmp_path)
    answer = be.run(make_request(**{"tuning.max_jobs": 6, "tuning.max_parallel_jobs": 2}))
    assert answer["HyperParameterTuningJobStatus"] == "Completed"
    assert answer["TrainingJobStatusCounters"]["Completed"] == 6
    trials = be.list_trials("fake-job")
    assert len(trials) == 6
    for t in trials:
        hp = t.hyperparameters
        assert 0.0 <= float(hp["x"]) <= 1.0
        assert 0.01 <= float(hp["y"]) <= 1.0
        assert hp["opt"] in {"a", "b", "c"}
        assert t.objective_status == "Succeeded"
        assert t.objective_metric == "score"
    best = answer["BestTrainingJob"]
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == max(t.objective or 0.0 for t in trials)


def test_objective_is_the_last_value_emitted(tmp_path: Path, make_request: MakeRequest) -> None:
    be = backend(tmp_path)
    be.run(make_request(**{"tuning.max_jobs": 1, "tuning.max_parallel_jobs": 1}))
    trial = be.list_trials("fake-job")[0]
    series = be.metric_history("fake-job", trial.name)
    assert len(series["score"]) == 3
    assert len(series["eval_loss"]) == 3  # an extra metric definition is read too
    assert trial.objective == series["score"][-1]
    assert series["score"] == sorted(series["score"])  # per-epoch values, increasing by construction


def test_trial_sees_the_container_contract_and_no_credentials(
    tmp_path: Path, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "do-not-leak")
    monkeypatch.setenv("MY_PRIVATE_TOKEN", "do-not-leak")
    be = backend(tmp_path)
    be.run(make_request(**{"tuning.max_jobs": 2, "tuning.max_parallel_jobs": 2}))
    trial = be.list_trials("fake-job")[0]
    folder = tmp_path / "jobs" / "fake-job" / "trials" / trial.name
    seen = json.loads((folder / "output" / "data" / "seen.json").read_text())
    assert not [k for k in seen["env"] if k.startswith("AWS_") or k == "MY_PRIVATE_TOKEN"]
    for var in (
        "SM_MODEL_DIR",
        "SM_OUTPUT_DATA_DIR",
        "SM_CHANNEL_TRAIN",
        "SM_CHANNEL_VALIDATION",
        "SM_HPS",
        "SM_HP_X",
        "SAGEMAKER_BASE_DIR",
        "SM_NUM_GPUS",
        "SM_HOSTS",
        "SM_CURRENT_HOST",
    ):
        assert var in seen["env"], var
    assert seen["channels"] == {"train": True, "validation": True}
    assert seen["hps"]["x"] == trial.hyperparameters["x"]  # passed exactly as the string in the request
    assert seen["sm_hps"]["epochs"] == "3"
    assert "sagemaker_program" not in seen["hps"] and "_tuning_objective_metric" not in seen["hps"]
    assert seen["threads"] == str(max(1, (os.cpu_count() or 1) // 2))  # two parallel trials split the cores
    assert seen["cuda"] == ""
    hyper = json.loads((folder / "input" / "config" / "hyperparameters.json").read_text())
    assert hyper["_tuning_objective_metric"] == "score" and hyper["sagemaker_program"] == "fake_train.py"
    assert all(isinstance(v, str) for v in hyper.values())
    assert (folder / "input" / "data" / "train").is_symlink()
    assert Path(be.best_model("fake-job").location).name == "model"


def test_grid_covers_every_combination_exactly_once(tmp_path: Path, make_request: MakeRequest) -> None:
    be = backend(tmp_path)
    request = make_request(
        **{
            "search_space": {
                "opt": {"kind": "categorical", "values": ["a", "b", "c"]},
                "mode": {"kind": "categorical", "values": ["ok", "silent"]},
            },
            "tuning": {"strategy": "grid", "max_parallel_jobs": 2},
        }
    )
    answer = be.run(request)
    combos = sorted((t["opt"], t["mode"]) for t in tuned(be, "fake-job"))
    assert combos == sorted(itertools.product("abc", ["ok", "silent"]))
    # silent trials print no objective: Failed with a reason, and the job still completes
    assert answer["HyperParameterTuningJobStatus"] == "Completed"
    failed = [t for t in be.list_trials("fake-job") if t.status == "Failed"]
    assert len(failed) == 3 and all("no value of the objective metric 'score'" in t.failure_reason for t in failed)


@pytest.mark.parametrize("strategy", ["random", "bayesian"])
def test_seeded_strategies_are_reproducible(tmp_path: Path, make_request: MakeRequest, strategy: str) -> None:
    overrides = {"tuning": {"strategy": strategy, "max_jobs": 7, "max_parallel_jobs": 1, "random_seed": 11}}
    runs = []
    for i in range(2):
        be = backend(tmp_path / str(i))
        be.run(make_request(**overrides))
        runs.append(tuned(be, "fake-job"))
    assert runs[0] == runs[1]
    be = backend(tmp_path / "other")
    be.run(make_request(**{"tuning": {**overrides["tuning"], "random_seed": 12}}))
    assert tuned(be, "fake-job") != runs[0]


def test_median_early_stopping_stops_lagging_trials(
    tmp_path: Path, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Epochs long enough for the coordinator to read each one while the trial runs, even on a loaded
    # machine: at 0.02 s a trial printed all six before a starved coordinator looked, and was then
    # stopped with its whole curve (or had already ended).
    monkeypatch.setenv("HFST_TEST_EPOCH_SECONDS", "0.15")  # six trials: three to set the median, three stopped
    be = backend(tmp_path)
    be.run(
        make_request(
            **{
                "training.hyperparameters": {"epochs": 6, "seed": 1},
                "tuning": {
                    "strategy": "random",
                    "max_jobs": 6,
                    "max_parallel_jobs": 1,
                    "random_seed": 5,
                    "early_stopping": "auto",
                },
            }
        )
    )
    trials = be.list_trials("fake-job")
    stopped = [t for t in trials if t.status == "Stopped"]
    assert len(trials) == 6
    assert stopped, "the median rule stopped no trial"
    for t in stopped:
        assert len(be.metric_history("fake-job", t.name)["score"]) < 6


def test_hyperband_stops_trials_early(
    tmp_path: Path, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As for the median rule: epochs the coordinator can read one by one on a loaded machine. At the
    # default pace a starved coordinator saw a trial's whole curve after it had ended by itself, and a
    # trial that ends by itself is Completed, not stopped.
    monkeypatch.setenv("HFST_TEST_EPOCH_SECONDS", "0.15")
    be = backend(tmp_path)
    answer = be.run(
        make_request(
            **{
                "training.hyperparameters": {"seed": 1},
                "tuning": {
                    "strategy": "hyperband",
                    "max_jobs": 12,
                    "max_parallel_jobs": 1,
                    "random_seed": 2,
                    "hyperband": {"min_resource": 1, "max_resource": 9},
                },
            }
        )
    )
    trials = be.list_trials("fake-job")
    epochs = [len(be.metric_history("fake-job", t.name)["score"]) for t in trials]
    assert answer["HyperParameterTuningJobStatus"] == "Completed"
    assert any(t.status == "Stopped" for t in trials)
    assert max(epochs) <= 9 and min(epochs) < 9


@pytest.mark.parametrize(
    ("completion", "reason"),
    [
        ({"target_objective_value": 0.5}, "TargetObjectiveMetricValueReached"),
        ({"max_jobs_not_improving": 3}, "BestObjectiveNotImproving"),
        ({"complete_on_convergence": True}, "ConvergenceDetected"),
    ],
)
def test_completion_criteria_end_the_job(
    tmp_path: Path, make_request: MakeRequest, completion: dict[str, Any], reason: str
) -> None:
    be = backend(tmp_path)
    space = {"opt": {"kind": "categorical", "values": ["a", "b", "c"]}} if reason == "ConvergenceDetected" else None
    overrides: dict[str, Any] = {
        "tuning": {
            "strategy": "random",
            "max_jobs": 60,
            "max_parallel_jobs": 1,
            "random_seed": 1,
            "completion": completion,
        },
    }
    if space:
        overrides["search_space"] = space
    answer = be.run(make_request(**overrides))
    assert answer["TuningJobCompletionReason"] == reason
    assert answer["HyperParameterTuningJobStatus"] == "Completed"
    assert len(be.list_trials("fake-job")) < 60


def test_job_max_runtime_ends_the_job(
    tmp_path: Path, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HFST_TEST_EPOCH_SECONDS", "0.4")
    be = backend(tmp_path)
    request = make_request(
        **{"tuning": {"strategy": "random", "max_jobs": 50, "max_parallel_jobs": 1, "max_runtime_seconds": 120}}
    )
    # 120 s is the smallest limit a spec accepts; shorten it in the compiled request for the test: long
    # enough for a first trial to complete on a loaded machine (its two Python starts take seconds there;
    # with none completed the job ends Failed, not Stopped), far shorter than the 50 trials' 60 s of epochs.
    body = request.to_api()
    body["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxRuntimeInSeconds"] = 8
    answer = be.run(TuningJobRequest.from_api(body))
    assert answer["TuningJobCompletionReason"] == "MaxRuntimeExceeded"
    assert answer["HyperParameterTuningJobStatus"] == "Stopped"
    assert len(be.list_trials("fake-job")) < 50


@pytest.mark.parametrize(
    ("mode", "fragment"),
    [
        ("crash", "CUDA error: an illegal memory access"),
        ("failure_file", "NonFiniteLossError: loss is nan at step 7"),
        ("kill", "killed by signal SIGKILL"),
        ("nan", "the objective 'score' is nan"),
        ("silent", "no value of the objective metric"),
        ("hang", "MaxRuntimeExceeded"),
    ],
)
def test_each_fault_fails_its_trial_with_a_reason_and_the_job_completes(
    tmp_path: Path, make_request: MakeRequest, mode: str, fragment: str
) -> None:
    be = backend(tmp_path)
    request = make_request(
        **{
            "search_space": {"mode": {"kind": "categorical", "values": ["ok", mode]}},
            "tuning": {"strategy": "grid", "max_parallel_jobs": 2},
        }
    )
    if mode == "hang":
        body = request.to_api()
        body["TrainingJobDefinition"]["StoppingCondition"]["MaxRuntimeInSeconds"] = 1
        request = TuningJobRequest.from_api(body)
    answer = be.run(request)
    assert answer["HyperParameterTuningJobStatus"] == "Completed"
    by_mode = {t.hyperparameters["mode"]: t for t in be.list_trials("fake-job")}
    assert by_mode["ok"].status == "Completed"
    assert by_mode[mode].status == "Failed"
    assert fragment in by_mode[mode].failure_reason


def test_too_many_failures_fail_the_job(tmp_path: Path, make_request: MakeRequest) -> None:
    be = backend(tmp_path, max_failed_trials=1)
    answer = be.run(
        make_request(
            **{
                "training.hyperparameters": {"epochs": 3, "seed": 1, "mode": "crash"},
                "tuning.max_jobs": 6,
                "tuning.max_parallel_jobs": 1,
            }
        )
    )
    assert answer["HyperParameterTuningJobStatus"] == "Failed"
    assert "failure budget" in answer["FailureReason"]
    assert len(be.list_trials("fake-job")) == 2


def test_missing_channels_fail_clearly(tmp_path: Path, make_request: MakeRequest, channels: Path) -> None:
    (channels / "validation").rmdir()
    be = backend(tmp_path)
    answer = be.run(make_request(**{"tuning.max_jobs": 1, "tuning.max_parallel_jobs": 1}))
    assert answer["HyperParameterTuningJobStatus"] == "Failed"
    assert "does not exist (prepare the dataset first" in be.list_trials("fake-job")[0].failure_reason


def test_existing_job_is_not_overwritten(tmp_path: Path, make_request: MakeRequest) -> None:
    be = backend(tmp_path)
    be.run(make_request(**{"tuning.max_jobs": 1, "tuning.max_parallel_jobs": 1}))
    with pytest.raises(BackendError, match="already exists"):
        be.run(make_request(**{"tuning.max_jobs": 1, "tuning.max_parallel_jobs": 1}))


def test_sigkill_of_the_coordinator_then_resume_gives_exactly_max_jobs(
    tmp_path: Path, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HFST_TEST_EPOCH_SECONDS", "0.15")
    be = backend(tmp_path)
    request = make_request(**{"tuning.max_jobs": 8, "tuning.max_parallel_jobs": 2})
    job = be.submit(request)
    folder = be.folder(job)
    wait_for(lambda: sum(r.TrainingJobStatus == "Completed" for r in folder.trial_records()) >= 3)
    kill_coordinator(folder)
    wait_for(lambda: be.describe(job)["HyperParameterTuningJobStatus"] == "Stopped")
    before = {r.TrainingJobName: r for r in folder.trial_records() if r.TrainingJobStatus == "Completed"}
    assert be.describe(job)["Resumable"] is True
    assert be.describe(job)["Resumability"] == "Interrupted"

    be.resume(job)
    answer = be.wait(job, poll_seconds=0.05, timeout=100)
    trials = be.list_trials(job)
    assert answer["HyperParameterTuningJobStatus"] == "Completed"
    assert len(trials) == 8
    assert sum(1 for t in trials if t.status == "Completed") == 8
    for name, record in before.items():  # finished trials were kept, not re-run
        now = next(t for t in trials if t.name == name)
        assert now.end_time == record.TrainingEndTime
    superseded = [r for r in folder.trial_records() if r.Superseded]
    rerun = {json.dumps(r.TunedHyperParameters, sort_keys=True) for r in superseded}
    assert rerun <= {json.dumps(t.hyperparameters, sort_keys=True) for t in trials}


def test_stop_then_resume(tmp_path: Path, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HFST_TEST_EPOCH_SECONDS", "0.2")
    be = backend(tmp_path)
    job = be.submit(make_request(**{"tuning.max_jobs": 5, "tuning.max_parallel_jobs": 1}))
    folder = be.folder(job)
    wait_for(lambda: any(r.TrainingJobStatus == "Completed" for r in folder.trial_records()))
    be.stop(job)
    wait_for(lambda: be.describe(job)["HyperParameterTuningJobStatus"] == "Stopped")
    assert be.describe(job)["Resumable"]
    assert be.describe(job)["Resumability"] == "StoppedByRequest"
    be.resume(job, background=False)
    assert be.describe(job)["HyperParameterTuningJobStatus"] == "Completed"
    assert len(be.list_trials(job)) == 5


def test_logs_and_unknown_jobs(tmp_path: Path, make_request: MakeRequest) -> None:
    be = backend(tmp_path)
    be.run(make_request(**{"tuning.max_jobs": 1, "tuning.max_parallel_jobs": 1}))
    name = be.list_trials("fake-job")[0].name
    assert "hfst_metric epoch=3" in be.logs("fake-job", name)
    with pytest.raises(BackendError, match="no local tuning job"):
        be.describe("nope")


def test_coordinator_module_runs_a_job(tmp_path: Path, make_request: MakeRequest) -> None:
    be = backend(tmp_path)
    folder = be.create(make_request(**{"tuning.max_jobs": 2, "tuning.max_parallel_jobs": 2}))
    subprocess.run(
        [sys.executable, "-m", "hf_sagemaker_tuning.backends.local.run_coordinator", str(folder.path)],
        check=True,
        timeout=60,
    )
    assert be.describe(str(folder.path))["HyperParameterTuningJobStatus"] == "Completed"
    log = (folder.path / "coordinator.log").read_text()
    assert log.count("started fake-job-001") == 1  # one line per event, not one per handler


def test_cli_status_stop_and_resume(tmp_path: Path, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from hf_sagemaker_tuning.cli import app

    monkeypatch.setenv("HFST_TEST_EPOCH_SECONDS", "0.15")
    be = backend(tmp_path)
    job = be.submit(make_request(**{"tuning.max_jobs": 4, "tuning.max_parallel_jobs": 1}))
    folder = be.folder(job)
    wait_for(lambda: any(r.TrainingJobStatus == "Completed" for r in folder.trial_records()))
    runner = CliRunner()
    result = runner.invoke(app, ["stop", str(folder.path)])
    assert result.exit_code == 0, result.output
    wait_for(lambda: be.describe(job)["HyperParameterTuningJobStatus"] == "Stopped")
    result = runner.invoke(app, ["status", str(folder.path)])
    assert result.exit_code == 0, result.output
    assert "Stopped" in result.output and "resume with: hfst tune --resume" in result.output
    result = runner.invoke(app, ["tune", "--resume", str(folder.path)])
    assert result.exit_code == 0, result.output
    assert be.describe(job)["HyperParameterTuningJobStatus"] == "Completed"
    assert len(be.list_trials(job)) == 4
    result = runner.invoke(app, ["status", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "local tuning job" in result.output
