"""One coordinator per job: a second resume is refused naming the holder; a finished job has nothing to resume."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hf_sagemaker_tuning import _process
from hf_sagemaker_tuning.backends.local import LocalBackend
from hf_sagemaker_tuning.backends.local.jobs import JobFolder
from hf_sagemaker_tuning.backends.local.lock import JobBusyError, JobLock, recorded_holder, stale_holder
from hf_sagemaker_tuning.backends.local.run_coordinator import main
from hf_sagemaker_tuning.cli import app
from hf_sagemaker_tuning.compile import TuningJobRequest
from hf_sagemaker_tuning.errors import BackendError

from ..helpers import kill_coordinator, wait_for

MakeRequest = Callable[..., TuningJobRequest]
pytestmark = [pytest.mark.timeout(180), pytest.mark.usefixtures("no_process_left")]
needs_proc = pytest.mark.skipif(not _process.has_proc(), reason="needs /proc (Linux)")
HFST = str(Path(sys.executable).with_name("hfst"))


def backend(tmp_path: Path) -> LocalBackend:
    return LocalBackend(tmp_path / "jobs", poll_seconds=0.02, grace_seconds=1)


def killed_job(tmp_path: Path, make_request: MakeRequest, max_jobs: int = 3) -> tuple[LocalBackend, JobFolder]:
    """A submitted job whose coordinator was SIGKILLed while a trial ran."""
    be = backend(tmp_path)
    job = be.submit(make_request(**{"tuning.max_jobs": max_jobs, "tuning.max_parallel_jobs": 1}))
    folder = be.folder(job)
    wait_for(lambda: any(r.Pid for r in folder.trial_records()))
    kill_coordinator(folder)  # returns once the lock is stale: its threads have all exited
    return be, folder


def test_the_lock_names_its_holder_and_lets_go(tmp_path: Path) -> None:
    with JobLock.acquire(tmp_path) as held:
        assert recorded_holder(tmp_path) == _process.ProcessRef.of(os.getpid())
        with pytest.raises(JobBusyError, match=f"process {os.getpid()}") as caught:
            JobLock.acquire(tmp_path, wait_seconds=0)
        assert caught.value.pid == os.getpid() and isinstance(caught.value, BackendError)
        assert stale_holder(tmp_path) is None  # held: not stale
        held.release()
        held.release()  # idempotent
    assert recorded_holder(tmp_path) is None  # emptied, not deleted
    JobLock.acquire(tmp_path, wait_seconds=0).release()


@needs_proc
def test_two_resumes_at_once_start_one_coordinator_and_the_other_exits_2_naming_it(
    tmp_path: Path, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HFST_TEST_EPOCH_SECONDS", "0.5")
    be, folder = killed_job(tmp_path, make_request)
    command = [HFST, "tune", "--resume", str(folder.path), "--detach"]
    both = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=120), *p.communicate()) for p in both]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 2], results
    (_, _, refused) = next(r for r in results if r[0] == 2)
    coordinator = folder.state().CoordinatorPid
    assert coordinator is not None
    # the holder: the coordinator, or the other resume while it checks the job and starts it
    assert any(f"process {pid}" in refused or f"pid {pid}" in refused for pid in (coordinator, *(p.pid for p in both)))
    assert "Traceback" not in refused and "resumed" not in refused
    with pytest.raises(JobBusyError) as caught:  # the Python API says the same, naming the coordinator
        be.resume(folder.name)
    assert caught.value.pid == folder.state().CoordinatorPid
    assert str(caught.value.pid) in str(caught.value)
    answer = be.wait(folder.name, poll_seconds=0.05, timeout=120)
    assert answer["HyperParameterTuningJobStatus"] == "Completed"
    records = folder.trial_records()
    kept = [r for r in records if not r.Superseded]
    assert len(kept) == 3 and all(r.TrainingJobStatus == "Completed" for r in kept)


@needs_proc
def test_a_second_coordinator_started_by_hand_exits_2_and_touches_nothing(
    tmp_path: Path, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HFST_TEST_EPOCH_SECONDS", "0.5")
    be = backend(tmp_path)
    job = be.submit(make_request(**{"tuning.max_jobs": 2, "tuning.max_parallel_jobs": 1}))
    folder = be.folder(job)
    wait_for(lambda: (recorded_holder(folder.path) or _process.ProcessRef(0)).pid == folder.state().CoordinatorPid)
    pid = folder.state().CoordinatorPid
    assert main([str(folder.path)]) == 2
    assert f"process {pid}" in capsys.readouterr().err
    assert folder.state().CoordinatorPid == pid and folder.state().HyperParameterTuningJobStatus == "InProgress"
    be.wait(job, poll_seconds=0.05, timeout=120)


def test_resuming_a_finished_job_says_so_and_exits_0(tmp_path: Path, make_request: MakeRequest) -> None:
    be = backend(tmp_path)
    be.run(make_request(**{"tuning.max_jobs": 2, "tuning.max_parallel_jobs": 1}))
    folder = be.folder("fake-job")
    before = folder.job_file.read_bytes()
    result = CliRunner().invoke(app, ["tune", "--resume", str(folder.path)])
    assert result.exit_code == 0, result.output
    assert "job fake-job already Completed: nothing to resume" in result.output
    assert "resumed" not in result.output and "resume with" not in result.output
    assert be.resume("fake-job") == "fake-job"  # the Python API leaves it as it is too
    assert be.finished("fake-job") == "job fake-job already Completed: nothing to resume"
    assert folder.job_file.read_bytes() == before


@needs_proc
def test_doctor_reports_a_stale_lock_and_repairs_it(
    tmp_path: Path, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HFST_TEST_EPOCH_SECONDS", "0.5")
    be, folder = killed_job(tmp_path, make_request, max_jobs=1)
    dead = folder.state().CoordinatorPid
    assert recorded_holder(folder.path) is not None and stale_holder(folder.path) is not None
    result = CliRunner().invoke(app, ["doctor", str(folder.path)])
    shown = " ".join(result.output.split())
    assert result.exit_code == 1, result.output
    assert "coordinator.lock is stale" in shown and f"names process {dead}" in shown and "repair: empty it" in shown
    result = CliRunner().invoke(app, ["doctor", str(folder.path), "--repair"])
    assert result.exit_code == 0, result.output
    assert "emptied the stale" in " ".join(result.output.split())
    assert stale_holder(folder.path) is None and recorded_holder(folder.path) is None
    be.resume(folder.name, background=False)  # harmless either way
    assert be.describe(folder.name)["HyperParameterTuningJobStatus"] == "Completed"
