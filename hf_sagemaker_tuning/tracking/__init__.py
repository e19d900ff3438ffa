"""Experiment tracking: a tuning job's runs in MLflow (and where its TensorBoard files are).

Imported only when a job asks for tracking or ``hfst track`` runs: MLflow itself is imported
inside the functions that write (``_store``), never when this package is.
"""

from ._track import LiveTracker, TrackingTarget, TrackResult, after_run, target_of, track
from .tensorboard import tensorboard_location

__all__ = [
    "LiveTracker",
    "TrackResult",
    "TrackingTarget",
    "after_run",
    "target_of",
    "tensorboard_location",
    "track",
]
