"""The one way to build a backend and the one way to find which backend holds a job."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import BackendError
from .base import Backend

#: Backend names accepted wherever a backend is chosen by name.
BACKEND_NAMES = ("local", "sagemaker")


def open_backend(
    backend: str | Backend | None = "local",
    *,
    jobs_dir: str | os.PathLike[str] = "jobs",
    region: str | None = None,
    boto_session: Any | None = None,
    source_dir: str | os.PathLike[str] | None = None,
    **local_options: Any,
) -> Backend:
    """A backend by name (``"local"``, the default, or ``"sagemaker"``), or ``backend`` itself.

    Args:
        backend: the backend's name, or a ``Backend`` (returned as is).
        jobs_dir: where local job folders live.
        region: AWS region (SageMaker).
        boto_session: a ``boto3.Session`` (SageMaker).
        source_dir: the training code SageMaker jobs upload (default: the bundled package).
        **local_options: options of ``LocalBackend`` (``trials_per_gpu``, ``max_failed_trials``...).

    Raises:
        BackendError: an unknown backend name.
    """
    if isinstance(backend, Backend):
        return backend
    if backend in (None, "local"):
        from .local import LocalBackend

        return LocalBackend(jobs_dir, **local_options)
    if backend == "sagemaker":
        from .sagemaker import SageMakerBackend

        return SageMakerBackend(region, boto_session=boto_session, source_dir=source_dir)
    raise BackendError(f"unknown backend {backend!r}; choose one of {', '.join(BACKEND_NAMES)} (or pass a Backend)")


def is_local_job(job: str | os.PathLike[str], jobs_dir: str | os.PathLike[str] = "jobs") -> bool:
    """Whether ``job`` is a local job folder, or the name of one under ``jobs_dir``.

    A name is looked up only when it stays inside ``jobs_dir`` (``jobs.inside``): ``../x`` is a
    path, never a name.
    """
    from .local.jobs import inside

    if (Path(job) / "request.json").is_file():
        return True
    try:
        return (inside(Path(jobs_dir), str(job), what="job name") / "request.json").is_file()
    except BackendError:
        return False


def _refuse_unusable_folder(name: str, jobs_dir: Path) -> None:
    """A name whose entry under ``jobs_dir`` exists but is no usable job folder: say why, don't ask SageMaker.

    (A symlink leaving the jobs folder, or a folder without ``request.json``: asking SageMaker for the
    name instead would wait on the network and answer about something else.)
    """
    from .local.jobs import inside

    entry = jobs_dir / name
    if not (entry.is_symlink() or entry.exists()):
        return
    inside(jobs_dir, name, what="job name")  # raises for a symlink that leaves the jobs folder
    raise BackendError(
        f"{entry} is not a local tuning job folder (it has no request.json); "
        "for the SageMaker tuning job of that name, pass the backend: --backend sagemaker"
    )


def resolve_job(
    job: str | os.PathLike[str],
    backend: str | Backend | None = None,
    *,
    jobs_dir: str | os.PathLike[str] = "jobs",
    region: str | None = None,
    boto_session: Any | None = None,
) -> tuple[Backend, str]:
    """The backend that holds ``job`` and the job's id on it.

    With ``backend=None``: a local job folder (or a job name under ``jobs_dir``) is local;
    any other name is a SageMaker tuning job. A local job is answered with its folder's
    path, so every later call finds it whatever the working directory.

    Raises:
        BackendError: a path that is not a local job folder, or an unknown backend.
    """
    if backend is None:
        if is_local_job(job, jobs_dir):
            backend = "local"
        elif os.sep in str(job) or Path(job).exists():
            raise BackendError(f"{str(job)!r} is not a local tuning job folder (it has no request.json)")
        else:
            _refuse_unusable_folder(str(job), Path(jobs_dir))
            try:
                sagemaker = open_backend("sagemaker", region=region, boto_session=boto_session)
            except BackendError as exc:
                raise BackendError(
                    f"no local tuning job {str(job)!r} in {jobs_dir}, and SageMaker can't be asked: {exc}"
                ) from None
            return sagemaker, str(job)
    if backend == "local" or (isinstance(backend, Backend) and backend.name == "local"):
        from .local import LocalBackend

        if isinstance(backend, LocalBackend):
            return backend, str(backend.folder(job).path.resolve())
        folder = LocalBackend(jobs_dir).folder(job).path.resolve()
        return LocalBackend(folder.parent), str(folder)
    return open_backend(backend, jobs_dir=jobs_dir, region=region, boto_session=boto_session), str(job)
