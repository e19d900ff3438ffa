"""``hfst doctor``: lists what is wrong with a local job folder, repairs what is safe, never a traceback."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hf_sagemaker_tuning import _process
from hf_sagemaker_tuning.backends.local import LocalBackend
from hf_sagemaker_tuning.backends.local.jobs import JobFolder
from hf_sagemaker_tuning.backends.local.lock import JobBusyError, JobLock, recorded_holder
from hf_sagemaker_tuning.backends.local.state import JobState
from hf_sagemaker_tuning.cli import app
from hf_sagemaker_tuning.compile import TuningJobRequest

from .helpers import kill_coordinator, wait_for

MakeRequest = Callable[..., TuningJobRequest]
pytestmark = [pytest.mark.timeout(120), pytest.mark.usefixtures("no_process_left")]


@pytest.fixture
def job(tmp_path: Path, make_request: MakeRequest) -> Path:
    be = LocalBackend(tmp_path / "jobs", poll_seconds=0.02, grace_seconds=2)
    be.run(make_request(**{"tuning.max_jobs": 3, "tuning.max_parallel_jobs": 1}))
    return tmp_path / "jobs" / "fake-job"


def doctor(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["doctor", *args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_a_healthy_job_exits_0(job: Path) -> None:
    code, out = doctor(str(job))
    assert code == 0, out
    assert "no problem found" in out
    code, out = doctor("fake-job", "--jobs-dir", str(job.parent))  # by name too
    assert code == 0, out


def test_no_such_job_is_a_user_error(tmp_path: Path) -> None:
    code, out = doctor(str(tmp_path / "nope"))
    assert code == 2 and "no local tuning job" in out


def test_a_truncated_study_db_is_listed_and_rebuilt(job: Path) -> None:
    db = job / "study.db"
    db.write_bytes(db.read_bytes()[:4096])
    code, out = doctor(str(job))
    assert code == 1 and "study.db" in out and "repair: rebuild it from the 3 trial folder(s)" in out
    assert "hfst doctor" in out and "--repair" in out
    code, out = doctor(str(job), "--repair")
    assert code == 0, out
    assert "rebuilt study.db" in out and (job / "study.db.corrupt").is_file()
    import optuna

    study = optuna.load_study(study_name="fake-job", storage=f"sqlite:///{db}")
    assert sorted(t.value for t in study.trials) == sorted(  # type: ignore[type-var]
        json.loads((d / "trial.json").read_text())["FinalObjectiveValue"] for d in (job / "trials").iterdir()
    )


def test_a_missing_trial_folder_is_listed_and_left_to_a_person(job: Path) -> None:
    gone = sorted((job / "trials").iterdir())[1]
    shutil.rmtree(gone)
    code, out = doctor(str(job), "--repair")
    assert code == 1
    assert gone.name in out and "needs you: restore the folders" in out


@pytest.mark.parametrize(
    ("file", "text"),
    [("job.json", "{not json"), ("job.json", "[]"), ("request.json", "[1, 2]"), ("trial.json", '{"Index": -1}')],
)
def test_invalid_files_are_named_without_a_traceback(job: Path, file: str, text: str) -> None:
    path = next((job / "trials").iterdir()) / file if file == "trial.json" else job / file
    path.write_text(text)
    code, out = doctor(str(job))
    assert code == 1 and str(path) in out.replace("\n", "")
    code, out = doctor(str(job), "--repair")
    if file == "job.json":  # rewritten as a stopped, resumable job; the damaged file is kept
        assert code == 0, out
        assert (job / "job.json.corrupt").read_text() == text
        assert LocalBackend(job.parent).describe("fake-job")["Resumable"] is True
    else:
        assert code == 1


@pytest.mark.skipif(not _process.has_proc(), reason="needs /proc (Linux)")
def test_a_dead_coordinator_and_its_orphans_are_listed_and_repaired(
    tmp_path: Path, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HFST_TEST_EPOCH_SECONDS", "2")
    be = LocalBackend(tmp_path / "jobs", poll_seconds=0.02, grace_seconds=2)
    job = be.submit(make_request(**{"tuning.max_jobs": 2, "tuning.max_parallel_jobs": 2}))
    folder = be.folder(job)
    wait_for(lambda: len(folder.trial_records()) == 2 and all(r.Pid for r in folder.trial_records()))
    originals = {r.TrainingJobName for r in folder.trial_records()}
    state = kill_coordinator(folder)
    code, out = doctor(str(folder.path))
    assert code == 1
    assert f"coordinator (pid {state.CoordinatorPid}) is gone" in out
    assert "trial process(es) run without a coordinator" in out and "repair: end them" in out
    code, out = doctor(str(folder.path), "--repair")
    assert code == 0, out
    assert not _process.find_by_environ("SAGEMAKER_BASE_DIR", folder.trials_dir)
    answer = be.describe(job)
    assert answer["HyperParameterTuningJobStatus"] == "Stopped" and answer["Resumable"] is True
    monkeypatch.setenv("HFST_TEST_EPOCH_SECONDS", "0.02")
    be.resume(job, background=False)
    records = folder.trial_records()
    assert be.describe(job)["HyperParameterTuningJobStatus"] == "Completed"
    assert len([r for r in records if not r.Superseded]) == 2
    assert all(r.Superseded for r in records if r.TrainingJobName in originals)  # re-run, not judged Failed


def test_a_running_job_is_checked_but_never_repaired(
    tmp_path: Path, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HFST_TEST_EPOCH_SECONDS", "1")
    be = LocalBackend(tmp_path / "jobs", poll_seconds=0.02, grace_seconds=2)
    job = be.submit(make_request(**{"tuning.max_jobs": 1, "tuning.max_parallel_jobs": 1}))
    folder = be.folder(job)
    wait_for(lambda: bool(folder.trial_records()))
    code, out = doctor(str(folder.path))
    assert code == 0 and "is running" in out
    code, out = doctor(str(folder.path), "--repair")
    assert code == 2 and "stop it first" in out
    be.stop(job)
    wait_for(lambda: be.describe(job)["HyperParameterTuningJobStatus"] == "Stopped")


def test_a_repair_is_refused_while_another_process_holds_the_job(job: Path) -> None:
    (job / "job.json").unlink()  # a repair would write a new one
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_THE_LOCK, str(job)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        code, out = doctor(str(job), "--repair")
    finally:
        assert holder.stdin is not None
        holder.stdin.close()  # the holder lets go and exits
        holder.wait(timeout=60)
        assert holder.stdout is not None
        holder.stdout.close()
    assert code == 2, out
    assert len(out.strip().splitlines()) == 1 and f"process {holder.pid}" in out and "stop it first" in out
    assert not (job / "job.json").exists()  # nothing was written


def test_a_repair_holds_the_job_while_it_writes(job: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (job / "job.json").unlink()
    held_while_writing: list[bool] = []
    write_state = JobFolder.write_state

    def watched(folder: JobFolder, state: JobState) -> None:
        try:
            JobLock.acquire(folder.path, wait_seconds=0).release()
            held_while_writing.append(False)
        except JobBusyError:
            held_while_writing.append(True)
        write_state(folder, state)

    monkeypatch.setattr(JobFolder, "write_state", watched)
    code, out = doctor(str(job), "--repair")
    assert code == 0, out
    assert held_while_writing and all(held_while_writing)
    assert recorded_holder(job) is None  # let go (and the file emptied) once the repair is done


_HOLD_THE_LOCK = """
import sys
from pathlib import Path
from hf_sagemaker_tuning.backends.local.lock import JobLock
with JobLock.acquire(Path(sys.argv[1])):
    print("held", flush=True)
    sys.stdin.read()
"""
