"""One exception root for everything this library raises on purpose.

``TuningError`` is the root. Subclasses that describe bad input also subclass
``ValueError`` so callers may catch either, as optuna does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class TuningError(Exception):
    """Root of every error hf-sagemaker-tuning raises on purpose."""


class SpecError(TuningError, ValueError):
    """A spec (or a file holding one) is invalid.

    ``errors`` holds one ``(field_path, message)`` pair per problem, so tools can
    point at the exact field; ``str(error)`` lists them all, one per line.
    """

    def __init__(self, message: str, errors: list[tuple[str, str]] | None = None, source: str | None = None):
        self.errors: list[tuple[str, str]] = errors or []
        self.source = source
        super().__init__(message)


class CompileError(TuningError):
    """The specs are valid but cannot be turned into a request (e.g. the service model rejects it)."""


class DataError(TuningError, ValueError):
    """Input data is missing, unreadable or does not match the dataset spec."""


class BackendError(TuningError):
    """A backend could not run, describe or stop a job."""


class TrackingError(TuningError):
    """The experiment tracker (MLflow) could not be reached or refused a write."""


class AwsError(BackendError):
    """An AWS call failed; keeps the service's error code, message and request id."""

    def __init__(self, operation: str, code: str, message: str, request_id: str | None = None):
        self.operation = operation
        self.code = code
        self.request_id = request_id
        rid = f" (request id {request_id})" if request_id else ""
        super().__init__(f"{operation} failed: {code}: {message}{rid}")


def translate_client_error(error: Exception, operation: str | None = None) -> TuningError:
    """Turn a botocore ``ClientError`` (or any exception) into a typed ``TuningError``.

    This is the one place that reads botocore's error shape, so every AWS failure
    reaches users with the service's code, message and request id.
    """
    response: Mapping[str, Any] = getattr(error, "response", None) or {}
    if not response:
        return BackendError(f"{operation or 'AWS call'} failed: {error}")
    err = response.get("Error", {}) or {}
    meta = response.get("ResponseMetadata", {}) or {}
    op = operation or getattr(error, "operation_name", None) or "AWS call"
    return AwsError(
        operation=op,
        code=str(err.get("Code", "Unknown")),
        message=str(err.get("Message", str(error))),
        request_id=meta.get("RequestId"),
    )
