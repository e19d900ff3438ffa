"""Resume is exact: finished trials are adopted, orphans are watched or ended, no configuration repeats."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hf_sagemaker_tuning import _process
from hf_sagemaker_tuning.backends.local import LocalBackend, Resumability
from hf_sagemaker_tuning.backends.local.jobs import JobFolder, write_json
from hf_sagemaker_tuning.compile import TuningJobRequest

from ..helpers import kill_coordinator, wait_for
from .conftest import FAKE_DIR

MakeRequest = Callable[..., TuningJobRequest]
pytestmark = [pytest.mark.timeout(120), pytest.mark.usefixtures("no_process_left")]
needs_proc = pytest.mark.skipif(not _process.has_proc(), reason="needs /proc (Linux)")


def backend(tmp_path: Path) -> LocalBackend:
    return LocalBackend(tmp_path / "jobs", poll_seconds=0.02, grace_seconds=2)


def configs(folder: JobFolder) -> list[str]:
    return [json.dumps(r.TunedHyperParameters, sort_keys=True) for r in folder.trial_records() if not r.Superseded]


def extend(be: LocalBackend, request: TuningJobRequest) -> JobFolder:
    """A finished job made into one stopped part-way: its request now asks for more trials."""
    folder = be.folder(request.job_name)
    write_json(folder.request_file, request.to_api())
    state = folder.state()
    state.HyperParameterTuningJobStatus = "Stopped"
    state.Resumability = Resumability.STOPPED_BY_REQUEST
    folder.write_state(state)
    return folder


SEARCHES = {
    "random": {"strategy": "random"},
    "bayesian": {"strategy": "bayesian"},
    "hyperband": {"strategy": "hyperband", "hyperband": {"min_resource": 1, "max_resource": 3}},
}


@pytest.mark.parametrize("search", sorted(SEARCHES))
def test_a_resumed_seeded_search_never_repeats_a_configuration(
    tmp_path: Path, make_request: MakeRequest, search: str
) -> None:
    tuning: dict[str, Any] = {**SEARCHES[search], "max_parallel_jobs": 1, "random_seed": 7}
    be = backend(tmp_path)
    be.run(make_request(**{"tuning": {**tuning, "max_jobs": 3}}))
    folder = extend(be, make_request(**{"tuning": {**tuning, "max_jobs": 6}}))
    be.resume("fake-job", background=False)
    tried = configs(folder)
    assert len(tried) == 6
    assert len(set(tried)) == 6, f"a resumed {search} search repeated a configuration: {tried}"
    # still reproducible: the same stop and resume proposes the same configurations
    again = backend(tmp_path / "again")
    again.run(make_request(**{"tuning": {**tuning, "max_jobs": 3}}))
    extend(again, make_request(**{"tuning": {**tuning, "max_jobs": 6}}))
    again.resume("fake-job", background=False)
    assert configs(again.folder("fake-job")) == tried


def test_a_resumed_grid_runs_each_combination_once(tmp_path: Path, make_request: MakeRequest) -> None:
    space = {
        "opt": {"kind": "categorical", "values": ["a", "b", "c"]},
        "mode": {"kind": "categorical", "values": ["ok", "silent"]},
    }
    be = backend(tmp_path)
    be.run(make_request(search_space=space, tuning={"strategy": "grid", "max_jobs": 2, "max_parallel_jobs": 1}))
    folder = extend(
        be, make_request(search_space=space, tuning={"strategy": "grid", "max_jobs": 6, "max_parallel_jobs": 1})
    )
    be.resume("fake-job", background=False)
    combos = sorted((r.TunedHyperParameters["opt"], r.TunedHyperParameters["mode"]) for r in folder.trial_records())
    assert combos == sorted((o, m) for o in "abc" for m in ("ok", "silent"))


def start_and_kill(tmp_path: Path, make_request: MakeRequest, max_jobs: int = 2) -> tuple[LocalBackend, JobFolder]:
    """Submit a job, and SIGKILL its coordinator while its first trial runs (the trial lives on)."""
    be = backend(tmp_path)
    job = be.submit(make_request(**{"tuning.max_jobs": max_jobs, "tuning.max_parallel_jobs": 1}))
    folder = be.folder(job)

    def first_running() -> bool:
        records = folder.trial_records()
        return (
            bool(records)
            and records[0].Pid is not None
            and "hfst_metric epoch=1" in be.logs(job, records[0].TrainingJobName)
        )

    wait_for(first_running)
    kill_coordinator(folder)
    return be, folder


@needs_proc
def test_a_trial_that_finished_while_the_coordinator_was_dead_is_adopted_not_rerun(
    tmp_path: Path, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HFST_TEST_EPOCH_SECONDS", "0.4")
    be, folder = start_and_kill(tmp_path, make_request)
    orphan = folder.trial_records()[0]
    assert _process.is_alive(orphan.Pid, orphan.PidStarted)  # it outlived its coordinator
    wait_for(lambda: not _process.is_alive(orphan.Pid, orphan.PidStarted))
    # status shows what happened, not InProgress under a Stopped job
    assert be.describe(folder.name)["HyperParameterTuningJobStatus"] == "Stopped"
    shown = next(t for t in be.list_trials(folder.name) if t.name == orphan.TrainingJobName)
    assert shown.status == "Completed"
    value = shown.objective

    be.resume(folder.name, background=False)
    records = folder.trial_records()
    assert [r.Superseded for r in records] == [False, False]  # nothing was re-run
    adopted = records[0]
    assert adopted.TrainingJobName == orphan.TrainingJobName
    assert adopted.TrainingJobStatus == "Completed" and adopted.FinalObjectiveValue == value
    assert len(adopted.Metrics["score"]) == 3
    assert be.describe(folder.name)["HyperParameterTuningJobStatus"] == "Completed"


@needs_proc
def test_a_trial_still_running_after_a_kill_is_adopted_and_watched_to_the_end(
    tmp_path: Path, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HFST_TEST_EPOCH_SECONDS", "0.6")
    be, folder = start_and_kill(tmp_path, make_request)
    orphan = folder.trial_records()[0]
    shown = be.list_trials(folder.name)[0]
    assert shown.status == "InProgress"  # honestly: its process still runs
    be.resume(folder.name)
    answer = be.wait(folder.name, poll_seconds=0.05, timeout=60)
    assert answer["HyperParameterTuningJobStatus"] == "Completed"
    records = folder.trial_records()
    assert not any(r.Superseded for r in records) and len(records) == 2
    assert records[0].TrainingJobName == orphan.TrainingJobName
    assert records[0].TrainingJobStatus == "Completed"
    log = be.logs(folder.name, orphan.TrainingJobName)
    assert log.count("hfst_metric epoch=1 ") == 1  # it was never started again
    assert not _process.find_by_environ("SAGEMAKER_BASE_DIR", folder.trials_dir)


@needs_proc
def test_an_orphan_the_coordinator_never_recorded_is_found_and_adopted_on_resume(
    tmp_path: Path, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HFST_TEST_EPOCH_SECONDS", "0.6")
    be, folder = start_and_kill(tmp_path, make_request)
    record = folder.trial_records()[0]
    record.Pid = record.PidStarted = None  # as if the coordinator died before writing the pid
    folder.write_trial(record)
    assert _process.find_by_environ("SAGEMAKER_BASE_DIR", folder.trials_dir)
    be.resume(folder.name, background=False)
    assert be.describe(folder.name)["HyperParameterTuningJobStatus"] == "Completed"
    records = folder.trial_records()
    assert not any(r.Superseded for r in records) and len(records) == 2  # found by its folder, watched, kept
    assert records[0].TrainingJobName == record.TrainingJobName and records[0].TrainingJobStatus == "Completed"
    assert be.logs(folder.name, record.TrainingJobName).count("hfst_metric epoch=1 ") == 1  # never started again
    assert not _process.find_by_environ("SAGEMAKER_BASE_DIR", folder.trials_dir)


@needs_proc
def test_a_trial_recorded_but_never_started_is_started_under_its_own_name(
    tmp_path: Path, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HFST_TEST_EPOCH_SECONDS", "0.6")
    be, folder = start_and_kill(tmp_path, make_request)
    record = folder.trial_records()[0]
    for group, members in _process.find_by_environ("SAGEMAKER_BASE_DIR", folder.trials_dir).items():
        _process.terminate_group(group, next(m.started for m in members if m.pid == group), grace_seconds=1)
    for leftover in ("log.txt", "exit.json"):  # as if the coordinator died before starting its process
        (folder.trial_dir(record.TrainingJobName) / leftover).unlink(missing_ok=True)
    record.Pid = record.PidStarted = None
    folder.write_trial(record)
    monkeypatch.setenv("HFST_TEST_EPOCH_SECONDS", "0.02")
    be.resume(folder.name, background=False)
    records = folder.trial_records()
    assert not any(r.Superseded for r in records) and len(records) == 2
    assert records[0].TrainingJobName == record.TrainingJobName and records[0].TrainingJobStatus == "Completed"


def test_the_entry_point_exit_status_is_recorded_and_its_contract_unchanged(
    tmp_path: Path, make_request: MakeRequest
) -> None:
    be = backend(tmp_path)
    be.run(make_request(**{"tuning.max_jobs": 1, "tuning.max_parallel_jobs": 1}))
    trial = be.folder("fake-job").trial_records()[0]
    trial_dir = be.folder("fake-job").trial_dir(trial.TrainingJobName)
    status = json.loads((trial_dir / "exit.json").read_text())
    assert status["ExitCode"] == 0 and status["EndTime"].endswith("+00:00")
    seen = json.loads((trial_dir / "output" / "data" / "seen.json").read_text())
    assert seen["cwd"] == str(FAKE_DIR) and seen["hps"]["x"] == trial.TunedHyperParameters["x"]
