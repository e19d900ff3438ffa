"""Errors of the deploy package (all under the library's one root, ``TuningError``)."""

from __future__ import annotations

from ..errors import TuningError


class DeployError(TuningError):
    """An endpoint could not be deployed, found, called or removed (the message says why)."""


class PredictError(DeployError):
    """The endpoint answered a prediction request with an error.

    ``status`` is the HTTP status (4xx: the request was refused, 5xx: the model failed);
    ``str(error)`` carries the endpoint's own message.
    """

    def __init__(self, message: str, status: int | None = None):
        self.status = status
        super().__init__(message)
