"""Shared base for every spec model: frozen, strict about unknown keys, ``SpecError`` on bad input."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from typing_extensions import Self

from ._errors import SpecFieldError, spec_error

__all__ = ["Spec", "SpecFieldError", "validate_spec"]


def validate_spec(cls: type[BaseModel], obj: Any, source: str | None = None, **options: Any) -> Any:
    """``cls.model_validate(obj)`` as pydantic does it, with ``SpecError`` (naming each field) instead of
    pydantic's ``ValidationError``."""
    try:
        return BaseModel.model_validate.__func__(cls, obj, **options)  # type: ignore[attr-defined]
    except ValidationError as exc:
        raise spec_error(exc, source, model=None if cls.__name__ == "TuningJobSpec" else cls.__name__) from None


class Spec(BaseModel):
    """Base of all specs: immutable, unknown keys rejected.

    Building one in Python (``ContinuousParameter(min=1, max=0.1)``) or with ``model_validate`` raises
    ``SpecError`` with the same field paths and messages a YAML file gets.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True, str_strip_whitespace=False)

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            name = type(self).__name__
            raise spec_error(exc, model=None if name == "TuningJobSpec" else name) from None

    # Not a "custom" __init__ for pydantic: a spec nested in another is validated by the parent's
    # validator (so its errors keep the parent's field path), never through this __init__.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    @classmethod
    def model_validate(cls, obj: Any, **options: Any) -> Self:
        """Validate ``obj`` (a mapping) as this spec; raise ``SpecError`` naming each bad field."""
        result: Self = validate_spec(cls, obj, **options)
        return result

    @classmethod
    def model_validate_json(cls, json_data: str | bytes | bytearray, **options: Any) -> Self:
        """Validate a JSON document as this spec; raise ``SpecError`` naming each bad field."""
        try:
            return super().model_validate_json(json_data, **options)
        except ValidationError as exc:
            name = cls.__name__
            raise spec_error(exc, model=None if name == "TuningJobSpec" else name) from None
