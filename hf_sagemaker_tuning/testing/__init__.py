"""Test helpers shipped with the library: an offline SageMaker for your tests, and the backend contract suite.

* ``fake_sagemaker()`` (a context manager) and ``fake_sagemaker_fixture`` (a pytest fixture named
  ``fake_sagemaker``): SageMaker, S3, IAM and CloudWatch Logs from moto, with AMT's side of tuning
  jobs simulated. Needs the ``[testing]`` extra (moto); importing this package does not import it.
* ``backend_contract``: the suite every ``Backend`` passes (as optuna ships its storage tests).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["FakeSageMaker", "TrialOutcome", "fake_sagemaker", "fake_sagemaker_fixture"]

_LAZY = {
    "FakeSageMaker": "hf_sagemaker_tuning.testing._fake",
    "fake_sagemaker": "hf_sagemaker_tuning.testing._fake",
    "TrialOutcome": "hf_sagemaker_tuning.testing._amt",
    "fake_sagemaker_fixture": "hf_sagemaker_tuning.testing._fixture",
}

if TYPE_CHECKING:  # pragma: no cover
    from ._amt import TrialOutcome
    from ._fake import FakeSageMaker, fake_sagemaker
    from ._fixture import fake_sagemaker_fixture


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hf_sagemaker_tuning.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
