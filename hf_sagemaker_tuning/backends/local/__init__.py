"""The local backend: the compiled job, run on this machine (needs the ``[local]`` extra)."""

from .backend import LocalBackend
from .jobs import JobFolder
from .state import JobState, LocalOptions, Resumability, TrialRecord

__all__ = ["JobFolder", "JobState", "LocalBackend", "LocalOptions", "Resumability", "TrialRecord"]
