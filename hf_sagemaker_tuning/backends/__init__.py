"""Backends that run a compiled tuning job: ``LocalBackend`` (this machine) and ``SageMakerBackend``.

Names load on first use, so the CLI's ``--help`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY = {
    "Backend": "hf_sagemaker_tuning.backends.base",
    "JOB_STATES": "hf_sagemaker_tuning.backends.base",
    "JOB_TERMINAL": "hf_sagemaker_tuning.backends.base",
    "TRIAL_STATES": "hf_sagemaker_tuning.backends.base",
    "LocalBackend": "hf_sagemaker_tuning.backends.local",
    "SageMakerBackend": "hf_sagemaker_tuning.backends.sagemaker",
}
__all__ = ["JOB_STATES", "JOB_TERMINAL", "TRIAL_STATES", "Backend", "LocalBackend", "SageMakerBackend"]

if TYPE_CHECKING:  # pragma: no cover
    from .base import JOB_STATES, JOB_TERMINAL, TRIAL_STATES, Backend
    from .local import LocalBackend
    from .sagemaker import SageMakerBackend


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hf_sagemaker_tuning.backends' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
