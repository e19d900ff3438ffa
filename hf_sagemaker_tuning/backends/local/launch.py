"""Starting a detached coordinator: an allow-listed environment, and no child left behind.

The coordinator of a submitted job must outlive the process that submitted it (``hfst tune
--detach``, a notebook that is closed). It is started through a short-lived launcher that
starts it in its own session and exits at once, so the coordinator is never this process's
child: nothing to reap, no zombie, and no ``ResourceWarning: subprocess ... is still running``
at exit. Its environment is the trials' allow-list plus what the coordinator itself needs:
never AWS credentials or ``HF_TOKEN``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ... import _process
from ...errors import BackendError
from .trial import PASS_THROUGH, PASS_THROUGH_PREFIXES

COORDINATOR_MODULE = "hf_sagemaker_tuning.backends.local.run_coordinator"
#: Variables the coordinator needs on top of the trials' allow-list (it passes the trials theirs).
COORDINATOR_PASS_THROUGH = ("PYTHONPATH", "VIRTUAL_ENV", "CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER")
#: How long a started coordinator waits for the process that started it to let the job's lock go.
LOCK_WAIT_SECONDS = 120
_LAUNCHER = (
    "import subprocess, sys\n"
    "out = open(sys.argv[1], 'ab')\n"
    "p = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,"
    " start_new_session=True)\n"
    "print(p.pid, flush=True)\n"
)


def coordinator_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The detached coordinator's whole environment (from ``environ``, default ``os.environ``)."""
    source = dict(os.environ if environ is None else environ)
    keep = (*PASS_THROUGH, *COORDINATOR_PASS_THROUGH)
    env = {k: v for k, v in source.items() if k in keep or k.startswith(PASS_THROUGH_PREFIXES)}
    package_root = str(Path(__file__).resolve().parents[3])  # importable from any working folder
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    return env


def spawn_coordinator(python: str, job_dir: Path) -> _process.ProcessRef:
    """Start ``python -m ...coordinator JOB_DIR`` detached; return its pid and start time.

    The caller holds the job's lock: the coordinator waits for it (``LOCK_WAIT_SECONDS``) and
    touches nothing before it has it.

    Raises:
        BackendError: the launcher could not start it.
    """
    result = subprocess.run(
        [
            *(python, "-c", _LAUNCHER, str(job_dir / "coordinator.out")),
            *(python, "-m", COORDINATOR_MODULE, str(job_dir), "--wait-lock", str(LOCK_WAIT_SECONDS)),
        ],
        env=coordinator_environment(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    try:
        pid = int(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise BackendError(
            f"could not start the coordinator of {job_dir} (exit {result.returncode}): {result.stderr.strip()[-2000:]}"
        ) from None
    return _process.ProcessRef.of(pid)
