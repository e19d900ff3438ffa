"""Check a request with botocore's own parameter validator against the SageMaker service model.

No network: botocore ships the service model as data. This catches what botocore
would reject at call time (types, required fields, minimum values); our specs catch
what it lets through (enums, maximums, patterns).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ..errors import CompileError


@lru_cache(maxsize=1)
def _input_shape() -> Any:
    from ..preflight.service_model import service_model  # read without the user's AWS configuration

    return service_model().operation_model("CreateHyperParameterTuningJob").input_shape


def validate_request_body(body: dict[str, Any]) -> None:
    """Raise ``CompileError`` with botocore's report if ``body`` is not a valid request."""
    from botocore.validate import ParamValidator

    report = ParamValidator().validate(body, _input_shape())
    if report.has_errors():
        raise CompileError(f"botocore rejects the CreateHyperParameterTuningJob request:\n{report.generate_report()}")
