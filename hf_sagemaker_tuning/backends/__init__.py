"""Backends that run a compiled tuning job: ``LocalBackend`` (this machine) and ``SageMakerBackend``."""

from .base import JOB_STATES, JOB_TERMINAL, TRIAL_STATES, Backend

__all__ = ["JOB_STATES", "JOB_TERMINAL", "TRIAL_STATES", "Backend"]
