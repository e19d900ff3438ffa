"""Backends that run a compiled tuning job: ``LocalBackend`` (this machine) and ``SageMakerBackend``.

``open_backend`` builds one by name and ``resolve_job`` finds the backend that holds a job;
everything else in the library reaches a job through a ``Backend``. Names load on first
use, so the CLI's ``--help`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY = {
    "Backend": "hf_sagemaker_tuning.backends.base",
    "ModelArtifact": "hf_sagemaker_tuning.backends.base",
    "CloudContext": "hf_sagemaker_tuning.backends.base",
    "JOB_STATES": "hf_sagemaker_tuning.backends.base",
    "JOB_TERMINAL": "hf_sagemaker_tuning.backends.base",
    "TRIAL_STATES": "hf_sagemaker_tuning.backends.base",
    "BACKEND_NAMES": "hf_sagemaker_tuning.backends._factory",
    "open_backend": "hf_sagemaker_tuning.backends._factory",
    "resolve_job": "hf_sagemaker_tuning.backends._factory",
    "LocalBackend": "hf_sagemaker_tuning.backends.local",
    "SageMakerBackend": "hf_sagemaker_tuning.backends.sagemaker",
}
__all__ = [
    "BACKEND_NAMES",
    "JOB_STATES",
    "JOB_TERMINAL",
    "TRIAL_STATES",
    "Backend",
    "CloudContext",
    "LocalBackend",
    "ModelArtifact",
    "SageMakerBackend",
    "open_backend",
    "resolve_job",
]

if TYPE_CHECKING:  # pragma: no cover
    from ._factory import BACKEND_NAMES, open_backend, resolve_job
    from .base import JOB_STATES, JOB_TERMINAL, TRIAL_STATES, Backend, CloudContext, ModelArtifact
    from .local import LocalBackend
    from .sagemaker import SageMakerBackend


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hf_sagemaker_tuning.backends' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
