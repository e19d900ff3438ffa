"""Where a job's TensorBoard event files are (``hfst tensorboard JOB``).

The training package writes them when the job's environment has ``HFST_TENSORBOARD=1``
(``tracking.tensorboard: true``): into each run's ``output/data/tensorboard`` folder, or into
``HFST_TENSORBOARD_DIR`` when set (SageMaker retrains: ``/opt/ml/output/tensorboard``, uploaded
by the training job's ``TensorBoardOutputConfig``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import TrackingError

if TYPE_CHECKING:  # pragma: no cover
    from ..backends.base import Backend

__all__ = ["tensorboard_location"]


def tensorboard_location(backend: Backend, job: str) -> str:
    """The folder (local job) or S3 prefix (SageMaker) to give ``tensorboard --logdir``.

    A local job's folder holds every trial's and retrain's event files (``tensorboard`` finds them
    below it, one run per trial). On SageMaker, retrains upload theirs to ``<output>/<job>/tensorboard``;
    a tuning job's trials cannot (AMT's training-job definition has no ``TensorBoardOutputConfig``),
    so theirs travel in each trial's ``output.tar.gz`` under ``tensorboard/``.

    Raises:
        TrackingError: the job was not compiled with ``tracking.tensorboard: true``.
        BackendError: no such job.
    """
    description = backend.describe(job)
    definition = description.get("TrainingJobDefinition") or {}
    if (definition.get("Environment") or {}).get("HFST_TENSORBOARD") != "1":
        raise TrackingError(
            f"job {backend.job_name(job)!r} writes no TensorBoard files: set tracking.tensorboard: true in its spec"
        )
    output = str((definition.get("OutputDataConfig") or {}).get("S3OutputPath", "")).rstrip("/")
    name = backend.job_name(job)
    local = backend.local_path(output) if not output.startswith("s3://") else None
    if local is not None:
        return str((local / name).resolve())
    return f"{output}/{name}/tensorboard"
