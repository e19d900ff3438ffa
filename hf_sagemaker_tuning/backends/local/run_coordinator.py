"""The detached coordinator's entry point: ``python -m hf_sagemaker_tuning.backends.local.run_coordinator JOB_DIR``.

Apart from coordinator.py because it builds the job's ``LocalBackend`` (live tracking reads the
job's records through it) and backend.py imports the coordinator: here both are imported, and
neither imports this module.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .backend import LocalBackend
from .checkpoints import kill_point
from .coordinator import Coordinator
from .jobs import JobFolder
from .lock import JobBusyError, JobLock
from .state import LocalOptions


def main(argv: list[str] | None = None) -> int:
    """``python -m hf_sagemaker_tuning.backends.local.run_coordinator JOB_DIR``: run or resume a job."""
    parser = argparse.ArgumentParser(description="Run or resume a local tuning job.")
    parser.add_argument("job_dir", type=Path)
    parser.add_argument(
        "--wait-lock", type=float, default=0.0, metavar="SECONDS", help="wait this long for the job's lock"
    )
    args = parser.parse_args(argv)
    folder = JobFolder(args.job_dir)
    try:
        kill_at = kill_point()
        # The lock before anything is read: the process that started us may still be writing.
        lock = JobLock.acquire(folder.path, wait_seconds=max(args.wait_lock, 0.0))
    except (ValueError, JobBusyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        options = folder.state().Options if folder.job_file.is_file() else LocalOptions()
        coordinator = Coordinator(folder, options, backend=LocalBackend(folder.path.parent))
    except BaseException:
        lock.release()
        raise
    coordinator.checkpoints.kill_at = kill_at
    status = coordinator.run(lock)
    return 0 if status in ("Completed", "Stopped") else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
