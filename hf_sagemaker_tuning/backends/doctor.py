"""``hfst doctor``'s door to a local job folder: what is wrong with it, and the safe repairs.

A local job's files are the local backend's own business; the CLI reaches them through this
module (as it reaches a running job through ``Backend``), never through ``backends.local``.
"""

from __future__ import annotations

from .local.health import Diagnosis, Problem, diagnose, job_folder, repair

__all__ = ["Diagnosis", "Problem", "diagnose", "job_folder", "repair"]
