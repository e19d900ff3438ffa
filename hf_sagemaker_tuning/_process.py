"""Process liveness and termination with a PID-reuse guard: one place for every process we start.

A pid alone does not name a process for long: once it exits, the kernel may hand the same
number to an unrelated process. So whoever records a pid records the process's start time
too (field 22 of ``/proc/<pid>/stat``, clock ticks since boot) and checks both before
believing the process is alive, let alone signalling it. A process whose start time differs
is not ours; a zombie (exited, not reaped) is dead. Where ``/proc`` is missing (macOS), the
check falls back to ``kill(pid, 0)`` and the start time is ``None`` (not checked).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ProcessRef",
    "cmdline",
    "descendants",
    "environ_value",
    "find_by_environ",
    "group_of",
    "has_proc",
    "is_alive",
    "parent_of",
    "send_signal",
    "start_time",
    "terminate_group",
    "wait_gone",
]

_PROC = Path("/proc")


def has_proc() -> bool:
    """Whether this system has a readable ``/proc`` (Linux)."""
    return (_PROC / "self" / "stat").is_file()


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` from field 3 (state) on; ``None`` when unreadable."""
    try:
        text = (_PROC / str(int(pid)) / "stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    # Field 2 (the command name) is in parentheses and may itself hold spaces or ")".
    return text.rsplit(")", 1)[-1].split()


def start_time(pid: int) -> int | None:
    """The process's start time (clock ticks since boot), or ``None`` when unknown (no ``/proc``, no process)."""
    fields = _stat_fields(pid)
    if fields is None or len(fields) < 20:
        return None
    try:
        return int(fields[19])  # field 22 overall; fields[0] is field 3
    except ValueError:
        return None


def cmdline(pid: int) -> str | None:
    """The process's command line, space-separated, or ``None`` when it cannot be read."""
    try:
        raw = (_PROC / str(int(pid)) / "cmdline").read_bytes()
    except OSError:
        return None
    return raw.replace(b"\0", b" ").decode("utf-8", "replace").strip()


def group_of(pid: int) -> int | None:
    """The process group id of ``pid`` (field 5 of ``/proc/<pid>/stat``), or ``None`` when unknown."""
    fields = _stat_fields(pid)
    if fields is None or len(fields) < 3:
        return None
    try:
        return int(fields[2])
    except ValueError:
        return None


def parent_of(pid: int) -> int | None:
    """The parent pid of ``pid`` (field 4 of ``/proc/<pid>/stat``), or ``None`` when unknown."""
    fields = _stat_fields(pid)
    if fields is None or len(fields) < 2 or not fields[1].isdigit():
        return None
    return int(fields[1])


def descendants(pid: int) -> list[ProcessRef]:
    """Every live descendant of ``pid`` (children, their children...), each with its start time.

    What ``terminate_group`` also ends: a launcher such as torchrun starts its workers in
    sessions of their own, out of reach of a signal to the trial's process group.
    """
    if not has_proc():
        return []
    children: dict[int, list[int]] = {}
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is None or len(fields) < 2 or not fields[1].isdigit():
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[ProcessRef] = []
    todo = list(children.get(int(pid), []))
    while todo:
        child = todo.pop()
        found.append(ProcessRef(child, start_time(child)))
        todo.extend(children.get(child, []))
    return found


def environ_value(pid: int, name: str) -> str | None:
    """One variable of the process's environment, or ``None`` (unset, not ours to read, or gone)."""
    try:
        raw = (_PROC / str(int(pid)) / "environ").read_bytes()
    except OSError:
        return None
    prefix = name.encode() + b"="
    for entry in raw.split(b"\0"):
        if entry.startswith(prefix):
            return entry[len(prefix) :].decode("utf-8", "replace")
    return None


def find_by_environ(name: str, under: Path) -> dict[int, list[ProcessRef]]:
    """Live processes whose ``name`` variable is a path inside ``under``, by process group.

    How a process we started but no longer hold (e.g. a trial orphaned when its coordinator
    was killed) is found again: every trial carries its folder in ``SAGEMAKER_BASE_DIR``. Only
    this user's processes can be read; without ``/proc`` nothing is found.

    Returns:
        ``{process group id: [the processes of that group, each with its start time]}``.
    """
    if not has_proc():
        return {}
    root = str(under.resolve())
    found: dict[int, list[ProcessRef]] = {}
    for entry in _PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        pid = int(entry.name)
        value = environ_value(pid, name)
        if value is None or not (value == root or value.startswith(root + os.sep)):
            continue
        group, started = group_of(pid), start_time(pid)
        if group is None or started is None or not is_alive(pid, started):
            continue
        found.setdefault(group, []).append(ProcessRef(pid, started))
    return found


@dataclass(frozen=True)
class ProcessRef:
    """A process as recorded: its pid and, where known, its start time (the guard against pid reuse)."""

    pid: int
    started: int | None = None

    @classmethod
    def of(cls, pid: int) -> ProcessRef:
        """Record a process that is alive now (e.g. a child just started, not yet reaped)."""
        return cls(int(pid), start_time(pid))

    def is_alive(self) -> bool:
        return is_alive(self.pid, self.started)


def is_alive(pid: int | None, started: int | None = None) -> bool:
    """Whether ``pid`` runs, is not a zombie and, when ``started`` is given, started at that time.

    Args:
        pid: the recorded pid (``None`` or ``0``: not alive).
        started: the recorded start time (``start_time`` when the process was recorded); a
            process with this pid but another start time is a different process.
    """
    if not pid or int(pid) <= 0:
        return False
    if has_proc():
        fields = _stat_fields(int(pid))
        if fields is None or not fields or fields[0] in ("Z", "X", "x"):
            return False
        return started is None or start_time(int(pid)) == started
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's process: alive, but not ours to judge
        return True
    return True


def send_signal(pid: int | None, started: int | None, signum: int) -> bool:
    """Send ``signum`` to one process if it is still the one recorded; return whether it was sent."""
    if pid is None or not is_alive(pid, started):
        return False
    try:
        os.kill(int(pid), signum)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def terminate_group(
    pid: int | None,
    started: int | None = None,
    *,
    grace_seconds: float = 10.0,
    process: subprocess.Popen[bytes] | None = None,
) -> bool:
    """SIGTERM the process group led by ``pid``, then SIGKILL it after ``grace_seconds``.

    The process must have been started in its own session (``start_new_session=True``), so
    its pid is its group id. With ``process`` (our own child, not yet reaped, so its pid
    cannot have been reused) the group is signalled and the child reaped; with only a
    recorded pid, nothing is signalled unless ``is_alive(pid, started)`` holds.

    Returns:
        Whether a signal was sent.
    """
    if pid is None:
        return False
    pgid = int(pid)
    if process is None and not is_alive(pgid, started):
        return False
    workers = descendants(pgid)  # before the signal: workers in other sessions lose their parent soon
    try:
        os.killpg(pgid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        if process is not None:
            process.wait()
        return False
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline:
        if process is not None:
            if process.poll() is not None:
                break
        elif not is_alive(pgid, started):
            break
        time.sleep(0.05)
    workers += descendants(pgid)
    # The leader may be gone while others in its group still run: SIGKILL the group either way,
    # and every descendant in another session (torchrun's workers) that outlived the grace.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    for worker in workers:
        send_signal(worker.pid, worker.started, signal.SIGKILL)
    if process is not None:
        process.wait()
    return True


def wait_gone(pid: int, started: int | None, timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for a recorded process to end; return whether it did."""
    deadline = time.monotonic() + timeout
    while is_alive(pid, started):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
