"""One object for a tuning job on any backend: ``job = tune(spec)``, ``job.wait()``, ``job.dataframe()``,
``job.report(...)``, ``with job.deploy() as predictor``. The free functions (results, refine,
deploy) are the layer underneath; everything goes through the job's ``Backend``.
"""

from ._job import TuningJob
from ._submit import tune

__all__ = ["TuningJob", "tune"]
