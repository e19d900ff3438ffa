"""What SageMaker accepts, read from the service model botocore ships (no hand-written lists, no network).

botocore carries SageMaker's API description as data: the enums of training and endpoint instance
types (``TrainingInstanceType``, ``ProductionVariantInstanceType``) and, for every request field, its
pattern, length and range. The checks here follow that model, so a new botocore brings new instance
types without a change here.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

from ..specs._errors import shorten

TRAINING_INSTANCE_SHAPE = "TrainingInstanceType"
ENDPOINT_INSTANCE_SHAPE = "ProductionVariantInstanceType"
#: Java-style classes in AWS patterns, as Python ``re`` reads them (inside a character class).
_JAVA_CLASSES = {r"\p{L}": r"\w", r"\p{N}": r"\d", r"\p{Z}": r"\s", r"\p{M}": "", r"\p{P}": r"!-/:-@\[-`{-~"}


@cache
def service_model() -> Any:
    """botocore's SageMaker service model (loaded once; ~0.2 s).

    Read from botocore's data files directly, not through a ``Session``: a session reads the user's AWS
    configuration, so ``AWS_PROFILE=nosuch`` would fail an offline check (or a local job) that never
    talks to AWS.
    """
    from botocore.loaders import create_loader
    from botocore.model import ServiceModel

    return ServiceModel(create_loader().load_service_model("sagemaker", "service-2"), service_name="sagemaker")


def botocore_version() -> str:
    import botocore

    return str(botocore.__version__)


@cache
def instance_types(shape: str = TRAINING_INSTANCE_SHAPE) -> tuple[str, ...]:
    """The instance types the service model's enum ``shape`` lists."""
    return tuple(service_model().shape_for(shape).enum)


def training_instance_types() -> tuple[str, ...]:
    """Every instance type a training job (so a tuning trial) may use, per botocore's model."""
    return instance_types(TRAINING_INSTANCE_SHAPE)


def endpoint_instance_types() -> tuple[str, ...]:
    """Every instance type a real-time endpoint may use, per botocore's model."""
    return instance_types(ENDPOINT_INSTANCE_SHAPE)


def enum_problem(value: str, allowed: tuple[str, ...] | list[str], what: str) -> str | None:
    """``None`` when ``value`` is in ``allowed``; else a short message with a "did you mean" and a count."""
    if value in allowed:
        return None
    close = difflib.get_close_matches(value, allowed, n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    return (
        f"{shorten(value)} is not a {what} ({len(allowed)} are listed in botocore {botocore_version()}'s "
        f"SageMaker service model{hint})"
    )


def training_instance_problem(value: str) -> str | None:
    """Why ``value`` is no training instance type, or ``None``."""
    return enum_problem(value, training_instance_types(), "SageMaker instance type for training")


def endpoint_instance_problem(value: str) -> str | None:
    """Why ``value`` is no endpoint (hosting) instance type, or ``None``."""
    return enum_problem(value, endpoint_instance_types(), "SageMaker instance type for endpoints")


@cache
def _pattern(pattern: str) -> re.Pattern[str] | None:
    text = pattern
    for java, python in _JAVA_CLASSES.items():
        text = text.replace(java, python)
    try:
        return re.compile(text, re.DOTALL)
    except re.error:  # pragma: no cover - every pattern of today's model compiles after the translation
        return None


def _scalar_problem(value: Any, shape: Any) -> str | None:
    meta = shape.metadata
    if shape.type_name == "string" and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            return enum_problem(value, list(shape.enum), f"valid {shape.name}")
        if "max" in meta and len(value) > meta["max"]:
            return f"{len(value):,} characters; SageMaker allows at most {meta['max']:,} ({shape.name})"
        if "min" in meta and len(value) < meta["min"]:
            return f"{len(value)} characters; SageMaker needs at least {meta['min']} ({shape.name})"
        compiled = _pattern(meta["pattern"]) if "pattern" in meta else None
        if compiled is not None and not compiled.fullmatch(value):
            return f"{shorten(value)} does not match SageMaker's pattern for {shape.name}: {shorten(meta['pattern'])}"
    elif shape.type_name in ("integer", "long", "float", "double") and isinstance(value, (int, float)):
        if "max" in meta and value > meta["max"]:
            return f"{value} is above SageMaker's maximum of {meta['max']:,} ({shape.name})"
        if "min" in meta and value < meta["min"]:
            return f"{value} is below SageMaker's minimum of {meta['min']:,} ({shape.name})"
    return None


def _walk(value: Any, shape: Any, path: str) -> Iterator[tuple[str, str]]:
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        for key, item in value.items():
            if key in shape.members:
                yield from _walk(item, shape.members[key], f"{path}.{key}" if path else key)
    elif kind == "list" and isinstance(value, list):
        meta = shape.metadata
        if "max" in meta and len(value) > meta["max"]:
            yield path, f"{len(value)} items; SageMaker allows at most {meta['max']}"
        for i, item in enumerate(value):
            yield from _walk(item, shape.member, f"{path}[{i}]")
    elif kind == "map" and isinstance(value, dict):
        meta = shape.metadata
        if "max" in meta and len(value) > meta["max"]:
            yield path, f"{len(value)} entries; SageMaker allows at most {meta['max']}"
        for key, item in value.items():
            problem = _scalar_problem(key, shape.key)
            if problem:
                yield f"{path}.{key}", f"key: {problem}"
            yield from _walk(item, shape.value, f"{path}.{key}")
    else:
        problem = _scalar_problem(value, shape)
        if problem:
            yield path, problem


def request_field_problems(
    body: dict[str, Any], operation: str = "CreateHyperParameterTuningJob"
) -> list[tuple[str, str]]:
    """Every field of a request ``body`` that breaks the pattern, length, range or enum of ``operation``'s
    input shape, as ``(request path, message)``; botocore's own validator checks only types and minimums."""
    shape = service_model().operation_model(operation).input_shape
    return list(_walk(body, shape, ""))
