"""Issue 17 item 4: records that disagree are never believed.

A trial's objective is in its log (the authority: what its entry point printed, read with the
job's metric regexes), its ``trial.json`` and ``study.db``. Each case below used to give a
silently different best trial, a wrong count, or a traceback.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hf_sagemaker_tuning.backends.local import LocalBackend
from hf_sagemaker_tuning.backends.local.health import diagnose, repair
from hf_sagemaker_tuning.backends.local.jobs import JobFolder
from hf_sagemaker_tuning.cli import app
from hf_sagemaker_tuning.compile import TuningJobRequest
from hf_sagemaker_tuning.errors import BackendError
from hf_sagemaker_tuning.results import results_table

MakeRequest = Callable[..., TuningJobRequest]
pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def job(tmp_path: Path, make_request: MakeRequest) -> Path:
    be = LocalBackend(tmp_path / "jobs", poll_seconds=0.02, grace_seconds=2)
    be.run(make_request(**{"tuning.max_jobs": 4, "tuning.max_parallel_jobs": 2}))
    return tmp_path / "jobs" / "fake-job"


def _trials(job: Path) -> list[dict[str, Any]]:
    """The trial.json files, best first."""
    records = [json.loads((d / "trial.json").read_text()) for d in (job / "trials").iterdir()]
    return sorted(records, key=lambda r: -r["FinalObjectiveValue"])


def _edit(job: Path, name: str, **changes: Any) -> None:
    path = job / "trials" / name / "trial.json"
    record = json.loads(path.read_text())
    record.update(changes)
    path.write_text(json.dumps(record))


def _doctor(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["doctor", *args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output.replace("\n", " ")


def test_a_healthy_job_agrees(job: Path) -> None:
    best = _trials(job)[0]
    answer = LocalBackend(job.parent).describe("fake-job")
    assert answer["BestTrainingJob"]["TrainingJobName"] == best["TrainingJobName"]
    assert _doctor(str(job))[0] == 0


def test_an_edited_objective_refuses_a_best_trial_and_doctor_names_both_values(job: Path) -> None:
    trials = _trials(job)
    worst = trials[-1]
    _edit(job, worst["TrainingJobName"], FinalObjectiveValue=0.99)  # now "best" by far
    be = LocalBackend(job.parent)
    for read in (be.describe, be.list_trials):
        with pytest.raises(BackendError) as info:
            read("fake-job")
        message = str(info.value)
        assert worst["TrainingJobName"] in message and "trial.json" in message
        assert "0.99" in message and f"{worst['FinalObjectiveValue']:g}" in message and "hfst doctor" in message
    with pytest.raises(BackendError, match=r"FinalObjectiveValue 0\.99"):
        results_table(job)
    result = CliRunner().invoke(app, ["status", str(job)])
    assert result.exit_code == 2 and "Traceback" not in result.output and "0.99" in result.stderr
    code, out = _doctor(str(job))
    assert code == 1, out
    assert (
        f"trial {worst['TrainingJobName']}: trials/{worst['TrainingJobName']}/trial.json FinalObjectiveValue 0.99"
        in out
    )
    assert f"its log's last score is {worst['FinalObjectiveValue']:g}" in out
    assert f"study.db says COMPLETE, {worst['FinalObjectiveValue']:g}" in out
    assert "no problem found" not in out


def test_an_objective_edited_in_trial_json_and_study_db_alike_is_caught_by_the_log(job: Path) -> None:
    """Rebuilding study.db from trial.json copies the edit; the log still says otherwise."""
    worst = _trials(job)[-1]
    _edit(job, worst["TrainingJobName"], FinalObjectiveValue=0.99)
    (job / "study.db").write_bytes(b"")  # damaged: doctor --repair rebuilds it from the trial folders
    code, out = _doctor(str(job), "--repair")
    assert code == 1 and "rebuilt study.db" in out
    assert "FinalObjectiveValue 0.99 but its log's last score" in out
    with pytest.raises(BackendError, match=r"0\.99"):
        LocalBackend(job.parent).describe("fake-job")


def test_the_best_trial_marked_failed_is_named_not_replaced(job: Path) -> None:
    best = _trials(job)[0]
    _edit(job, best["TrainingJobName"], TrainingJobStatus="Failed", ObjectiveStatus="Failed", FailureReason="edited")
    be = LocalBackend(job.parent)
    with pytest.raises(BackendError) as info:
        be.describe("fake-job")
    assert best["TrainingJobName"] in str(info.value) and "Failed" in str(info.value)
    code, out = _doctor(str(job))
    assert code == 1
    assert f"trials/{best['TrainingJobName']}/trial.json says Failed" in out
    assert "exit.json says its entry point exited 0" in out
    assert f"its log's last score is {best['FinalObjectiveValue']:g}" in out


def test_a_study_db_that_disagrees_is_named(job: Path) -> None:
    best = _trials(job)[0]
    with contextlib.closing(sqlite3.connect(job / "study.db")) as db, db:
        db.execute(
            "UPDATE trial_values SET value = 0.123 WHERE trial_id = (SELECT trial_id FROM trials WHERE number = ?)",
            (best["TrialNumber"],),
        )
    with pytest.raises(BackendError, match=r"study\.db says 0\.123"):
        LocalBackend(job.parent).describe("fake-job")
    assert "study.db says 0.123" in _doctor(str(job))[1]


@pytest.mark.parametrize("rename_inside", [False, True], ids=["copied", "copied-and-renamed"])
def test_a_copied_trial_folder_is_not_counted(job: Path, rename_inside: bool) -> None:
    best = _trials(job)[0]["TrainingJobName"]
    copy = job / "trials" / "fake-job-009-deadbeef"
    shutil.copytree(job / "trials" / best, copy, symlinks=True)
    if rename_inside:
        _edit(job, copy.name, TrainingJobName=copy.name, Index=9)
    be = LocalBackend(job.parent)
    answer = be.describe("fake-job")
    assert answer["TrainingJobStatusCounters"]["Completed"] == 4
    assert len(be.list_trials("fake-job")) == 4
    assert answer["BestTrainingJob"]["TrainingJobName"] == best
    code, out = _doctor(str(job))
    assert code == 1 and "fake-job-009-deadbeef" in out and "not counted" in out
    if not rename_inside:
        assert f"names the trial '{best}'" in out
    else:
        assert "never listed" in out
    code, out = _doctor(str(job), "--repair")  # nothing to repair by guessing: it stays a person's call
    assert code == 1 and "fake-job-009-deadbeef" in out
    assert len(be.list_trials("fake-job")) == 4


def _writable_anyway(folder: Path) -> bool:
    try:
        (folder / ".probe").touch()
    except OSError:
        return False
    (folder / ".probe").unlink()
    return True


@pytest.fixture
def read_only(job: Path) -> Iterator[Path]:
    """The jobs folder, read-only (skipped where permissions are not enforced: root)."""
    paths = [job.parent, *job.parent.rglob("*")]
    modes = {p: p.lstat().st_mode for p in paths if not p.is_symlink()}
    for p, mode in modes.items():
        os.chmod(p, mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        if _writable_anyway(job):
            pytest.skip("permissions are not enforced for this user (root)")
        yield job.parent
    finally:
        for p, mode in modes.items():
            os.chmod(p, mode)


def test_doctor_repair_on_a_read_only_jobs_folder_is_one_line(job: Path, read_only: Path) -> None:
    del read_only
    state = json.loads((job / "job.json").read_text())
    assert state["HyperParameterTuningJobStatus"] == "Completed"
    os.chmod(job, 0o755)
    (job / "job.json").chmod(0o644)
    (job / "job.json").write_text(json.dumps({**state, "HyperParameterTuningJobStatus": "InProgress"}))
    os.chmod(job, 0o555)
    code, out = _doctor(str(job), "--repair")
    assert code == 2 and "cannot repair" in out and str(job) in out


def test_a_repair_that_cannot_write_is_one_line(job: Path) -> None:
    """Root-proof: the damaged job.json cannot be moved aside (a folder is in the way)."""
    (job / "job.json").write_text("{not json")
    (job / "job.json.corrupt").mkdir()
    (job / "job.json.corrupt" / "keep").write_text("x")
    with pytest.raises(BackendError, match=r"cannot repair .*job\.json"):
        repair(JobFolder(job))
    code, out = _doctor(str(job), "--repair")
    assert code == 2 and "cannot repair" in out
    assert not diagnose(JobFolder(job)).healthy


def test_a_new_job_in_a_read_only_jobs_folder_is_one_line(
    job: Path, read_only: Path, make_request: MakeRequest
) -> None:
    with pytest.raises(BackendError, match=f"cannot create the job folder .*{read_only}"):
        LocalBackend(read_only).submit(make_request("another"))


def test_a_new_job_where_the_jobs_folder_is_a_file_is_one_line(tmp_path: Path, make_request: MakeRequest) -> None:
    jobs = tmp_path / "jobs-file"
    jobs.write_text("not a folder")
    with pytest.raises(BackendError, match=r"cannot create the job folder .*jobs-file"):
        LocalBackend(jobs).submit(make_request("another"))


def test_a_completed_trial_whose_log_is_gone_is_named_by_doctor(job: Path) -> None:
    best = _trials(job)[0]
    (job / "trials" / best["TrainingJobName"] / "log.txt").unlink()
    answer = LocalBackend(job.parent).describe("fake-job")  # nothing contradicts its records
    assert answer["BestTrainingJob"]["TrainingJobName"] == best["TrainingJobName"]
    code, out = _doctor(str(job))
    assert code == 1 and "log.txt is missing" in out and best["TrainingJobName"] in out


def test_hfst_tune_into_a_jobs_folder_that_cannot_be_written_stops_before_preparing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Root-proof: the jobs "folder" is a file; nothing is prepared, one line names it."""
    from hf_sagemaker_tuning.specs import dump_yaml, parse_job_spec

    from ..fakejob import fake_spec

    spec = tmp_path / "tiny.yaml"
    spec.write_text(dump_yaml(parse_job_spec(fake_spec())))
    jobs = tmp_path / "jobs-file"
    jobs.write_text("not a folder")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    result = CliRunner().invoke(app, ["tune", str(spec), "--jobs-dir", str(jobs), "--detach"])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    message = result.stderr.strip()
    # The CLI refuses a file as --jobs-dir before anything else; tune() asks the backend (below).
    assert message.count("\n") == 0 and "jobs-file" in message and "is a file" in message
    assert not any(work.iterdir())  # no prepared data


def test_tune_into_a_jobs_folder_that_cannot_be_written_stops_before_preparing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Root-proof, through the Python API: ``Backend.check_writable`` refuses before any data is prepared."""
    from hf_sagemaker_tuning import tune
    from hf_sagemaker_tuning.errors import BackendError
    from hf_sagemaker_tuning.specs import parse_job_spec

    from ..fakejob import fake_spec

    jobs = tmp_path / "jobs-file"
    jobs.write_text("not a folder")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    with pytest.raises(BackendError, match="cannot write in the jobs folder") as caught:
        tune(parse_job_spec(fake_spec()), jobs_dir=jobs)
    assert "jobs-file" in str(caught.value) and "\n" not in str(caught.value)
    assert not any(work.iterdir())  # no prepared data
