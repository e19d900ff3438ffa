"""Reading and writing specs: YAML/JSON files, errors with field paths, JSON Schema."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..errors import SpecError
from ._base import validate_spec
from ._errors import spec_error
from ._load import MAX_NUMBER_CHARS, MAX_SPEC_BYTES, MAX_SPEC_DEPTH, MAX_SPEC_NODES, read_spec_file
from .job import TuningJobSpec

__all__ = [
    "MAX_NUMBER_CHARS",
    "MAX_SPEC_BYTES",
    "MAX_SPEC_DEPTH",
    "MAX_SPEC_NODES",
    "dump_yaml",
    "json_schema",
    "load_job_spec",
    "parse_job_spec",
    "spec_error",
    "spec_to_dict",
]


def parse_job_spec(data: Mapping[str, Any], source: str | None = None) -> TuningJobSpec:
    """Validate a mapping (parsed YAML/JSON) as a ``TuningJobSpec``; raise ``SpecError`` on any problem."""
    if not isinstance(data, Mapping):
        raise SpecError(f"invalid spec{' in ' + source if source else ''}: the top level must be a mapping")
    spec: TuningJobSpec = validate_spec(TuningJobSpec, dict(data), source)
    return spec


def load_job_spec(path: str | Path) -> TuningJobSpec:
    """Load a spec from a ``.yaml``/``.yml`` or ``.json`` file.

    Spec files are bounded input: at most ``MAX_SPEC_BYTES`` (1 MiB), ``MAX_SPEC_NODES`` values and
    ``MAX_SPEC_DEPTH`` levels; YAML anchors and aliases (``&name``/``*name``) are refused.

    Raises:
        SpecError: the file is missing, unreadable, too large, not YAML/JSON, uses anchors or aliases,
            holds too many values or nests too deeply, or the spec is invalid (the message names the
            file, the line where it applies, and each field path).
    """
    data = read_spec_file(path)
    return parse_job_spec(data, source=str(Path(path)))


def spec_to_dict(spec: TuningJobSpec) -> dict[str, Any]:
    """The spec as plain data, without fields left at their defaults (what a user would write).

    Each search-space parameter keeps its ``kind`` (the tag that tells the three kinds apart), even
    when it was built in Python as ``ContinuousParameter(...)`` and never set.
    """
    data: dict[str, Any] = spec.model_dump(mode="json", exclude_unset=True)
    space = data.get("search_space")
    if isinstance(space, dict):
        data["search_space"] = {
            name: {"kind": param.kind, **space.get(name, {})} for name, param in spec.search_space.items()
        }
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
