"""The process utility: liveness with a PID-reuse guard, and group termination."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hf_sagemaker_tuning import _process

needs_proc = pytest.mark.skipif(not _process.has_proc(), reason="needs /proc (Linux)")


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True, stdin=subprocess.DEVNULL
    )
    yield process
    if process.poll() is None:
        process.kill()
    process.wait()


@needs_proc
def test_a_running_process_is_alive_with_its_start_time(sleeper: subprocess.Popen[bytes]) -> None:
    ref = _process.ProcessRef.of(sleeper.pid)
    assert ref.started is not None
    assert ref.is_alive()
    assert _process.is_alive(sleeper.pid)  # without a start time: liveness only


@needs_proc
def test_right_pid_with_a_wrong_start_time_is_not_alive_and_never_signalled(
    sleeper: subprocess.Popen[bytes],
) -> None:
    started = _process.start_time(sleeper.pid)
    assert started is not None
    stale = started - 1  # the record of an earlier process that had the same pid
    assert not _process.is_alive(sleeper.pid, stale)
    assert _process.send_signal(sleeper.pid, stale, 15) is False
    assert _process.terminate_group(sleeper.pid, stale, grace_seconds=0.1) is False
    assert sleeper.poll() is None, "a process that is not the recorded one was signalled"
    assert _process.terminate_group(sleeper.pid, started, grace_seconds=5) is True
    assert sleeper.wait(timeout=10) != 0


def test_a_zombie_is_dead(sleeper: subprocess.Popen[bytes]) -> None:
    started = _process.start_time(sleeper.pid)
    sleeper.kill()
    _process.wait_gone(sleeper.pid, started, timeout=10)  # exited, not reaped yet: a zombie
    assert not _process.is_alive(sleeper.pid, started)
    sleeper.wait()
    assert not _process.is_alive(sleeper.pid)


def test_terminate_group_stops_the_whole_group_and_reaps_our_child(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    script = (
        "import subprocess, sys, time\n"
        "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(c.pid))\n"
        "time.sleep(60)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    try:
        while not pid_file.is_file() or not pid_file.read_text():
            assert process.poll() is None
            time.sleep(0.01)
        grandchild = int(pid_file.read_text())
        assert _process.terminate_group(process.pid, grace_seconds=5, process=process) is True
        assert process.returncode is not None  # reaped
        assert _process.wait_gone(grandchild, None, timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_nothing_is_signalled_for_a_missing_pid() -> None:
    assert not _process.is_alive(None)
    assert not _process.is_alive(0)
    assert _process.terminate_group(None) is False
    assert _process.send_signal(None, None, 15) is False


def test_without_proc_liveness_falls_back_to_kill_zero(
    sleeper: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(_process, "_PROC", tmp_path / "no-proc")
    assert not _process.has_proc()
    assert _process.start_time(sleeper.pid) is None
    assert _process.cmdline(sleeper.pid) is None
    assert _process.is_alive(sleeper.pid)
    assert _process.ProcessRef.of(sleeper.pid).started is None
    sleeper.kill()
    sleeper.wait()
    assert not _process.is_alive(sleeper.pid)


@needs_proc
def test_a_local_endpoint_record_with_a_reused_pid_is_not_running_and_never_signalled() -> None:
    from hf_sagemaker_tuning.deploy._local import SERVER_MODULE, _stop_pid, is_running
    from hf_sagemaker_tuning.deploy._registry import EndpointRecord

    # A process that looks like our server (its command line names the server module).
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", SERVER_MODULE], start_new_session=True
    )
    try:
        started = _process.start_time(process.pid)
        assert started is not None
        stale = EndpointRecord("old", "local", "/m", "2026-01-01T00:00:00+00:00", pid=process.pid, started=started - 1)
        assert not is_running(stale)
        _stop_pid(process.pid, 0.1, stale.started)
        assert process.poll() is None, "a process that is not the recorded server was signalled"
        current = EndpointRecord("new", "local", "/m", "2026-01-01T00:00:00+00:00", pid=process.pid, started=started)
        assert is_running(current)
        _stop_pid(process.pid, 5.0, current.started)
        assert not _process.is_alive(process.pid, started)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


@needs_proc
def test_a_server_this_process_started_and_reaped_leaves_no_handle_that_signals_a_reused_pid() -> None:
    """A reaped server's Popen handle must not stand for the pid's next owner (seen in CI: PID reuse)."""
    from hf_sagemaker_tuning.deploy import _local
    from hf_sagemaker_tuning.deploy._registry import EndpointRecord

    ended = subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True)
    ended.wait()  # a server of ours that ended and was reaped: its pid is free for reuse
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", _local.SERVER_MODULE], start_new_session=True
    )
    try:
        started = _process.start_time(process.pid)
        assert started is not None
        # The kernel gave the freed number to the new process (forced here: reuse is rare on demand).
        _local._CHILDREN[process.pid] = ended
        current = EndpointRecord("new", "local", "/m", "2026-01-01T00:00:00+00:00", pid=process.pid, started=started)
        assert _local.is_running(current)
        _local._CHILDREN[process.pid] = ended
        _local._stop_pid(process.pid, 0.1, started - 1)  # a record of another process with this pid
        time.sleep(0.2)
        assert process.poll() is None, "a process that is not the recorded server was signalled"
        assert process.pid not in _local._CHILDREN
    finally:
        _local._CHILDREN.pop(process.pid, None)
        if process.poll() is None:
            process.kill()
        process.wait()
