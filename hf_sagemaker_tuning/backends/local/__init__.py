"""The local backend: the compiled job, run on this machine (needs the ``[local]`` extra)."""

from .backend import LocalBackend
from .jobs import JobFolder, best_model_dir

__all__ = ["JobFolder", "LocalBackend", "best_model_dir"]
