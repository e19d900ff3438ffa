"""Shared base for every spec model: frozen, strict about unknown keys."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Spec(BaseModel):
    """Base of all specs: immutable, unknown keys rejected, validated on assignment."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True, str_strip_whitespace=False)


class SpecFieldError(ValueError):
    """A cross-field check failed at ``path`` (dotted, relative to the model that raised it)."""

    def __init__(self, path: str, message: str):
        self.path = path
        super().__init__(message)
