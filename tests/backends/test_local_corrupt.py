"""Corrupt state is detected and named: study.db before a resume, trial folders against job.json."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hf_sagemaker_tuning.backends.local import LocalBackend, Resumability
from hf_sagemaker_tuning.backends.local.jobs import JobFolder, write_json
from hf_sagemaker_tuning.backends.local.recovery import study_problem
from hf_sagemaker_tuning.backends.local.study import open_study
from hf_sagemaker_tuning.cli import app
from hf_sagemaker_tuning.compile import TuningJobRequest
from hf_sagemaker_tuning.errors import BackendError

MakeRequest = Callable[..., TuningJobRequest]
pytestmark = [pytest.mark.timeout(120), pytest.mark.usefixtures("no_process_left")]


def stopped_part_way(tmp_path: Path, make_request: MakeRequest, done: int = 3, total: int = 6) -> JobFolder:
    """A job that ran ``done`` of ``total`` trials and was stopped (resumable)."""
    be = LocalBackend(tmp_path / "jobs", poll_seconds=0.02, grace_seconds=2)
    tuning = {"strategy": "random", "max_parallel_jobs": 1, "random_seed": 5}
    be.run(make_request(tuning={**tuning, "max_jobs": done}))
    folder = be.folder("fake-job")
    write_json(folder.request_file, make_request(tuning={**tuning, "max_jobs": total}).to_api())
    state = folder.state()
    state.HyperParameterTuningJobStatus, state.Resumability = "Stopped", Resumability.STOPPED_BY_REQUEST
    folder.write_state(state)
    return folder


def truncate(path: Path, size: int = 4096) -> None:
    path.write_bytes(path.read_bytes()[:size])


def test_a_truncated_study_db_is_rebuilt_from_the_trial_folders_before_resume(
    tmp_path: Path, make_request: MakeRequest
) -> None:
    folder = stopped_part_way(tmp_path, make_request)
    before = {r.TrainingJobName: r.FinalObjectiveValue for r in folder.trial_records()}
    truncate(folder.path / "study.db")
    result = CliRunner().invoke(app, ["tune", "--resume", str(folder.path)])
    assert result.exit_code == 0, result.output
    be = LocalBackend(tmp_path / "jobs")
    answer = be.describe("fake-job")
    assert answer["HyperParameterTuningJobStatus"] == "Completed", answer.get("TuningJobCompletionReason")
    records = folder.trial_records()
    assert len(records) == 6 and not any(r.Superseded for r in records)
    assert {r.TrainingJobName: r.FinalObjectiveValue for r in records[:3]} == before  # kept, not re-run
    configs = {json.dumps(r.TunedHyperParameters, sort_keys=True) for r in records}
    assert len(configs) == 6
    assert (folder.path / "study.db.corrupt").is_file()


def test_a_damaged_study_db_with_a_damaged_trial_is_refused_before_any_coordinator_starts(
    tmp_path: Path, make_request: MakeRequest
) -> None:
    folder = stopped_part_way(tmp_path, make_request)
    truncate(folder.path / "study.db")
    trial_file = folder.trial_dir(folder.trial_records()[0].TrainingJobName) / "trial.json"
    trial_file.write_text("{truncated")
    result = CliRunner().invoke(app, ["tune", "--resume", str(folder.path)])
    assert result.exit_code == 2, result.output
    assert str(trial_file) in result.output and "hfst doctor" in result.output
    assert "Traceback" not in result.output and "resume with" not in result.output
    assert json.loads((folder.path / "job.json").read_text())["CoordinatorPid"] is None  # nothing started


def test_a_deleted_trial_folder_refuses_a_best_trial(tmp_path: Path, make_request: MakeRequest) -> None:
    be = LocalBackend(tmp_path / "jobs", poll_seconds=0.02, grace_seconds=2)
    be.run(make_request(**{"tuning.max_jobs": 4, "tuning.max_parallel_jobs": 2}))
    best = be.describe("fake-job")["BestTrainingJob"]["TrainingJobName"]
    shutil.rmtree(be.folder("fake-job").trial_dir(best))
    for call in (be.describe, be.list_trials):
        with pytest.raises(BackendError, match="hfst doctor") as caught:
            call("fake-job")
        assert best in str(caught.value)
    for command in (["status"], ["results"]):
        result = CliRunner().invoke(app, [*command, str(tmp_path / "jobs" / "fake-job")])
        assert result.exit_code == 2, result.output
        assert best in result.output and "Completed" not in result.output


@pytest.mark.parametrize("text", ["[]", "{not json", '{"HyperParameterTuningJobName": 3}', ""])
def test_an_invalid_request_json_is_named(tmp_path: Path, make_request: MakeRequest, text: str) -> None:
    be = LocalBackend(tmp_path / "jobs", poll_seconds=0.02, grace_seconds=2)
    be.run(make_request(**{"tuning.max_jobs": 1, "tuning.max_parallel_jobs": 1}))
    (be.folder("fake-job").request_file).write_text(text)
    with pytest.raises(BackendError, match=r"request\.json"):
        be.describe(str(tmp_path / "jobs" / "fake-job"))


def duplicate_the_study(path: Path, name: str) -> None:
    """What a coordinator killed while optuna created study.db left: the study's name not unique, the study twice."""
    with closing(sqlite3.connect(path)) as db:
        db.execute("DROP INDEX ix_studies_study_name")  # optuna creates it after the table, in its own statement
        db.execute("INSERT INTO studies (study_name) VALUES (?)", (name,))  # the next create_study's row
        db.commit()


def study_rows(path: Path) -> int:
    with closing(sqlite3.connect(path)) as db:
        (count,) = db.execute("SELECT count(*) FROM studies").fetchone()
    return int(count)


def test_a_study_db_holding_the_study_twice_is_rebuilt_and_the_job_completes(
    tmp_path: Path, make_request: MakeRequest
) -> None:
    folder = stopped_part_way(tmp_path, make_request)
    before = {r.TrainingJobName: r.FinalObjectiveValue for r in folder.trial_records()}
    duplicate_the_study(folder.path / "study.db", "fake-job")
    result = CliRunner().invoke(app, ["tune", "--resume", str(folder.path)])
    assert result.exit_code == 0, result.output
    assert "time(s)" in " ".join(result.output.split())  # what was wrong, and that it was rebuilt
    answer = LocalBackend(tmp_path / "jobs").describe("fake-job")
    assert answer["HyperParameterTuningJobStatus"] == "Completed", answer.get("TuningJobCompletionReason")
    records = folder.trial_records()
    assert len(records) == 6 and not any(r.Superseded for r in records)
    assert {r.TrainingJobName: r.FinalObjectiveValue for r in records[:3]} == before  # kept, not re-run
    assert study_rows(folder.path / "study.db") == 1
    assert study_rows(folder.path / "study.db.corrupt") == 2  # the damaged file, kept


def test_a_study_db_without_unique_study_names_is_rebuilt_before_it_takes_the_study_twice(
    tmp_path: Path, make_request: MakeRequest
) -> None:
    folder = stopped_part_way(tmp_path, make_request)
    with closing(sqlite3.connect(folder.path / "study.db")) as db:
        db.execute("DROP INDEX ix_studies_study_name")
        db.commit()
    assert "does not keep study names unique" in (study_problem(folder, "fake-job") or "")
    LocalBackend(tmp_path / "jobs").resume("fake-job", background=False)
    assert study_problem(folder, "fake-job") is None
    assert study_rows(folder.path / "study.db") == 1
    assert len([r for r in folder.trial_records() if r.TrainingJobStatus == "Completed"]) == 6


def test_a_new_study_db_appears_whole_and_a_killed_build_leaves_nothing_behind(
    tmp_path: Path, make_request: MakeRequest
) -> None:
    be = LocalBackend(tmp_path / "jobs")
    folder = be.create(make_request())
    leftover = folder.path / ".study.db.dead0000.tmp"  # what a build killed before its rename leaves
    leftover.write_bytes(b"SQLite format 3\x00 half a file")
    open_study(folder, folder.request())
    assert not leftover.exists() and not list(folder.path.glob(".study.db.*"))
    assert study_rows(folder.path / "study.db") == 1
    open_study(folder, folder.request())  # reopening never creates it again
    assert study_rows(folder.path / "study.db") == 1
