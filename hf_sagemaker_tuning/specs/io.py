"""Reading and writing specs: YAML/JSON files, errors with field paths, JSON Schema."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import SpecError
from ._base import SpecFieldError
from .job import TuningJobSpec

_UNION_TAGS = {"continuous", "integer", "categorical"}


def _path(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for i, item in enumerate(loc):
        # pydantic puts the union tag into the location (search_space.lr.continuous.min): drop it.
        if isinstance(item, str) and item in _UNION_TAGS and i >= 2 and loc[0] == "search_space":
            continue
        if item == "root" and parts == ["search_space"]:
            continue
        parts.append(f"[{item}]" if isinstance(item, int) else str(item))
    return ".".join(parts).replace(".[", "[") or "(top level)"


def spec_error(exc: ValidationError, source: str | None = None) -> SpecError:
    """Turn pydantic's ``ValidationError`` into a ``SpecError`` whose lines name each field."""
    errors: list[tuple[str, str]] = []
    for err in exc.errors(include_url=False):
        path = _path(tuple(err["loc"]))
        message = err["msg"].removeprefix("Value error, ")
        problem = (err.get("ctx") or {}).get("error")
        if isinstance(problem, SpecFieldError):
            prefix = "" if path == "(top level)" else f"{path}."
            path, message = f"{prefix}{problem.path}", str(problem)
        if err["type"] == "extra_forbidden":
            message = "unknown field (check the spelling; see `hfst schema`)"
        elif err["type"] == "missing":
            message = "required field is missing"
        elif "input" in err and err["type"] not in ("value_error", "assertion_error"):
            message = f"{message} (got {err['input']!r})"
        errors.append((path, message))
    where = f" in {source}" if source else ""
    lines = [f"invalid spec{where}: {len(errors)} problem{'s' if len(errors) != 1 else ''}"]
    lines += [f"  {path}: {message}" for path, message in errors]
    return SpecError("\n".join(lines), errors=errors, source=source)


def parse_job_spec(data: Mapping[str, Any], source: str | None = None) -> TuningJobSpec:
    """Validate a mapping (parsed YAML/JSON) as a ``TuningJobSpec``; raise ``SpecError`` on any problem."""
    if not isinstance(data, Mapping):
        raise SpecError(f"invalid spec{' in ' + source if source else ''}: the top level must be a mapping")
    try:
        return TuningJobSpec.model_validate(dict(data))
    except ValidationError as exc:
        raise spec_error(exc, source) from None


def load_job_spec(path: str | Path) -> TuningJobSpec:
    """Load a spec from a ``.yaml``/``.yml`` or ``.json`` file.

    Raises:
        SpecError: the file is missing, unreadable, not YAML/JSON, or the spec is invalid
            (the message names the file and each field path).
    """
    file = Path(path)
    if not file.is_file():
        raise SpecError(f"spec file {str(file)!r} does not exist", source=str(file))
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read spec file {str(file)!r}: {exc}", source=str(file)) from None
    try:
        data = json.loads(text) if file.suffix.lower() == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise SpecError(
            f"spec file {str(file)!r} is not valid {'JSON' if file.suffix == '.json' else 'YAML'}: {exc}",
            source=str(file),
        ) from None
    if data is None:
        raise SpecError(f"spec file {str(file)!r} is empty", source=str(file))
    return parse_job_spec(data, source=str(file))


def spec_to_dict(spec: TuningJobSpec) -> dict[str, Any]:
    """The spec as plain data, without fields left at their defaults (what a user would write)."""
    data: dict[str, Any] = spec.model_dump(mode="json", exclude_unset=True)
    return data


def dump_yaml(spec: TuningJobSpec) -> str:
    """The spec as YAML that ``load_job_spec`` reads back to an equal spec."""
    return yaml.safe_dump(spec_to_dict(spec), sort_keys=False, allow_unicode=True)


def json_schema() -> dict[str, Any]:
    """JSON Schema of the spec file (for editors and docs)."""
    schema: dict[str, Any] = TuningJobSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "hf-sagemaker-tuning job spec"
    return schema
