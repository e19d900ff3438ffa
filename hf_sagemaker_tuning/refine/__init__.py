"""The next steps after a tuning job: retrain the best configuration longer, or narrow the ranges and tune again."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["best_hyperparameters", "narrow_spec", "retrain_local", "retrain_sagemaker", "top_trials"]

if TYPE_CHECKING:  # pragma: no cover
    from .narrow import narrow_spec, top_trials
    from .retrain import best_hyperparameters, retrain_local, retrain_sagemaker


def __getattr__(name: str) -> Any:
    # Loaded on first use so that ``hfst --help`` (which imports refine._cli) stays fast.
    if name in ("narrow_spec", "top_trials"):
        from . import narrow

        return getattr(narrow, name)
    if name in ("best_hyperparameters", "retrain_local", "retrain_sagemaker"):
        from . import retrain

        return getattr(retrain, name)
    raise AttributeError(f"module 'hf_sagemaker_tuning.refine' has no attribute {name!r}")
