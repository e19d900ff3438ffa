"""One coordinator per job: an OS lock (``flock``) on ``coordinator.lock`` in the job folder.

Whoever writes a job's state holds the lock: the coordinator for its whole life (taken before it
touches any file), ``LocalBackend.resume`` while it checks and repairs the folder and starts a
detached coordinator, and ``hfst doctor --repair`` while it repairs. The kernel releases it when
its holder exits, SIGKILL included, so a killed coordinator never blocks a resume. The file
holds the holder's pid and start time (to name it in the refusal); it is emptied, never deleted,
when the lock is let go (deleting a lock file others may have open would let two holders lock
two different files). A file that still names a holder while nobody holds the lock was left by a
killed process: it is stale and harmless (``hfst doctor`` reports it; ``--repair`` empties it by
taking the lock and letting go).

``fcntl`` is POSIX-only; elsewhere the lock is a no-op (the local backend's process handling
already needs Linux or macOS).
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from ... import _process
from ...errors import BackendError

try:  # pragma: no cover - always there on Linux and macOS
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = "coordinator.lock"
#: How long an attempt to lock waits for a momentary holder (``hfst doctor`` probing it).
SETTLE_SECONDS = 1.0


class JobBusyError(BackendError):
    """Another process (a coordinator, or a resume starting one) holds the job; ``pid`` names it."""

    def __init__(self, message: str, pid: int | None = None):
        self.pid = pid
        super().__init__(message)


def lock_path(job_dir: Path) -> Path:
    return job_dir / LOCK_FILE


def recorded_holder(job_dir: Path) -> _process.ProcessRef | None:
    """The process the lock file names (``None``: empty, missing or unreadable)."""
    try:
        fields = lock_path(job_dir).read_text(encoding="utf-8").split()
        pid = int(fields[0])
        started = int(fields[1]) if len(fields) > 1 and fields[1] != "-" else None
    except (OSError, ValueError, IndexError):
        return None
    return _process.ProcessRef(pid, started)


@dataclass
class JobLock:
    """The held lock of one job folder (``release`` or leave the ``with`` block to let it go)."""

    job_dir: Path
    fd: int | None

    @classmethod
    def acquire(cls, job_dir: Path, *, wait_seconds: float = SETTLE_SECONDS) -> JobLock:
        """Take the job's lock, waiting up to ``wait_seconds`` for a holder to let go.

        Raises:
            JobBusyError: another process holds it (the message names its pid).
        """
        path = lock_path(job_dir)
        if fcntl is None:  # pragma: no cover - Windows
            return cls(job_dir, None)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        deadline = time.monotonic() + max(0.0, wait_seconds)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    holder = recorded_holder(job_dir)
                    who = f"process {holder.pid}" if holder is not None else "another process"
                    raise JobBusyError(
                        f"tuning job {job_dir.name!r} is already being run by {who} "
                        f"(it holds {path}); wait for it, or stop it with `hfst stop {job_dir}`",
                        holder.pid if holder is not None else None,
                    ) from None
                time.sleep(0.05)
        held = cls(job_dir, fd)
        held.record(os.getpid())
        return held

    def record(self, pid: int) -> None:
        """Name ``pid`` as the holder (in place: the locked file must stay the same file)."""
        if self.fd is None:  # pragma: no cover - Windows
            return
        ref = _process.ProcessRef.of(pid)
        text = f"{ref.pid} {ref.started if ref.started is not None else '-'}\n".encode()
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, text, 0)

    def release(self) -> None:
        """Empty the file and let the lock go (idempotent)."""
        if self.fd is None:
            return
        fd, self.fd = self.fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing the last descriptor releases the flock

    def __enter__(self) -> JobLock:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.release()


def stale_holder(job_dir: Path) -> _process.ProcessRef | None:
    """The process a lock file still names though nobody holds the lock (a killed holder), else ``None``.

    Probing takes the lock for an instant; a coordinator starting at that moment waits
    (``SETTLE_SECONDS``) rather than failing.
    """
    holder = recorded_holder(job_dir)
    if holder is None or fcntl is None:
        return None
    try:
        fd = os.open(lock_path(job_dir), os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return None  # held: not stale
    finally:
        os.close(fd)
    return holder
