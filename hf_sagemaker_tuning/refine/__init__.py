"""The next steps after a tuning job: retrain the best configuration longer, or narrow the ranges and tune again."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["RetrainResult", "narrow_spec", "retrain", "retrain_hyperparameters", "top_trials"]

if TYPE_CHECKING:  # pragma: no cover
    from ._retrain import RetrainResult, retrain, retrain_hyperparameters
    from .narrow import narrow_spec, top_trials


def __getattr__(name: str) -> Any:
    # Loaded on first use, so importing the package (``hf_sagemaker_tuning.refine``) stays cheap.
    if name in ("narrow_spec", "top_trials"):
        from . import narrow

        return getattr(narrow, name)
    if name in ("RetrainResult", "retrain", "retrain_hyperparameters"):
        from . import _retrain

        return getattr(_retrain, name)
    raise AttributeError(f"module 'hf_sagemaker_tuning.refine' has no attribute {name!r}")
