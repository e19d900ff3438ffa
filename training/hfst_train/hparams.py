"""Hyperparameters, parsed from the declarations in ``hyperparameters.json`` (never a second hand-written list).

Sources, lowest precedence first: the declared defaults, SageMaker's
``input/config/hyperparameters.json``, ``SM_HPS`` (JSON), then ``--name value``
command-line arguments. Values may arrive as strings and JSON-quoted
(``adamw`` and ``"adamw"`` are the same). ``sagemaker_*`` keys and
``_tuning_objective_metric`` (added by the SDK and AMT) are accepted and ignored.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hfst_train.errors import HyperparameterError

DECLARATIONS_FILE = Path(__file__).resolve().parent.parent / "hyperparameters.json"
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


@dataclass(frozen=True)
class Declaration:
    """One declared hyperparameter: type, default, inclusive bounds, choices."""

    name: str
    type: str
    default: Any
    help: str
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] | None = None


def load_declarations(path: Path = DECLARATIONS_FILE) -> dict[str, Declaration]:
    """Read the declared hyperparameters from ``hyperparameters.json``."""
    return declarations_from(json.loads(path.read_text(encoding="utf-8"))["hyperparameters"])


def declarations_from(raw: Mapping[str, Any]) -> dict[str, Declaration]:
    """``Declaration``s from the JSON form (``{name: {"type": ..., "default": ..., ...}}``)."""
    return {
        name: Declaration(
            name=name,
            type=spec["type"],
            default=spec.get("default"),
            help=spec.get("help", ""),
            min=spec.get("min"),
            max=spec.get("max"),
            choices=tuple(spec["choices"]) if "choices" in spec else None,
        )
        for name, spec in raw.items()
    }


def is_platform_key(name: str) -> bool:
    """Keys that the SageMaker SDK and AMT add; they are not user hyperparameters."""
    return name.startswith("sagemaker_") or name == "_tuning_objective_metric"


def _unquote(value: Any) -> Any:
    """Decode a JSON-encoded string (``"adamw"`` -> ``adamw``, ``3e-05`` -> 3e-05); keep other strings as they are."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def coerce(decl: Declaration, raw: Any) -> Any:
    """Convert a raw value to the declared type and check bounds and choices."""
    value = _unquote(raw)
    shown = json.dumps(raw) if not isinstance(raw, str) else repr(raw)
    kind = decl.type
    if kind == "str":
        result: Any = value if isinstance(value, str) else (raw if isinstance(raw, str) else json.dumps(value))
    elif kind == "bool":
        text = str(value).strip().lower()
        if text not in _TRUE | _FALSE:
            raise HyperparameterError(f"hyperparameter {decl.name!r}: {shown} is not a bool (use true or false)")
        result = text in _TRUE
    elif kind in ("int", "float"):
        result = _number(decl, value, shown)
    else:
        raise HyperparameterError(f"hyperparameter {decl.name!r} declares an unknown type {kind!r}")
    if decl.choices is not None and result not in decl.choices:
        raise HyperparameterError(
            f"hyperparameter {decl.name!r}: {result!r} is not one of the allowed values {list(decl.choices)}"
        )
    if decl.min is not None and result < decl.min:
        raise HyperparameterError(
            f"hyperparameter {decl.name!r}: {result!r} is below the minimum {decl.min} (inclusive)"
        )
    if decl.max is not None and result > decl.max:
        raise HyperparameterError(
            f"hyperparameter {decl.name!r}: {result!r} is above the maximum {decl.max} (inclusive)"
        )
    return result


def _number(decl: Declaration, value: Any, shown: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise HyperparameterError(f"hyperparameter {decl.name!r}: {shown} is not a number ({decl.type})")
    try:
        number = float(value)
    except ValueError:
        raise HyperparameterError(f"hyperparameter {decl.name!r}: {shown} is not a number ({decl.type})") from None
    if not math.isfinite(number):
        raise HyperparameterError(f"hyperparameter {decl.name!r}: {shown} is not a finite number")
    if decl.type == "float":
        return number
    if not number.is_integer():
        raise HyperparameterError(f"hyperparameter {decl.name!r}: {shown} is not an integer")
    return int(number)


def parse_cli(argv: Sequence[str]) -> dict[str, str]:
    """Parse ``--name value`` and ``--name=value`` pairs (dashes in names become underscores)."""
    result: dict[str, str] = {}
    index = 0
    while index < len(argv):
        token = argv[index]
        if not token.startswith("--") or len(token) == 2:
            raise HyperparameterError(f"unexpected command-line argument {token!r}; expected --name value pairs")
        name, sep, inline = token[2:].partition("=")
        if sep:
            value = inline
            index += 1
        elif index + 1 < len(argv):
            value = argv[index + 1]
            index += 2
        else:
            raise HyperparameterError(f"command-line argument {token!r} has no value")
        result[name.replace("-", "_")] = value
    return result


def collect_raw(argv: Sequence[str], environ: Mapping[str, str], hyperparameters_file: Path | None) -> dict[str, Any]:
    """Merge the raw values of every source (file < ``SM_HPS`` < command line)."""
    raw: dict[str, Any] = {}
    if hyperparameters_file is not None and hyperparameters_file.is_file():
        loaded = json.loads(hyperparameters_file.read_text(encoding="utf-8"))
        if not isinstance(loaded, dict):
            raise HyperparameterError(f"{hyperparameters_file} does not hold a JSON object")
        raw.update(loaded)
    if environ.get("SM_HPS"):
        try:
            loaded = json.loads(environ["SM_HPS"])
        except ValueError as error:
            raise HyperparameterError(f"SM_HPS is not valid JSON: {error}") from None
        if not isinstance(loaded, dict):
            raise HyperparameterError("SM_HPS does not hold a JSON object")
        raw.update(loaded)
    raw.update(parse_cli(argv))
    return raw


def resolve(raw: Mapping[str, Any], declarations: Mapping[str, Declaration] | None = None) -> dict[str, Any]:
    """Validate raw values against the declarations; return every declared name with its effective value."""
    decls = dict(declarations) if declarations is not None else load_declarations()
    unknown = sorted(name for name in raw if name not in decls and not is_platform_key(name))
    if unknown:
        raise HyperparameterError(
            f"unknown hyperparameter(s) {', '.join(unknown)}; the known hyperparameters are: {', '.join(sorted(decls))}"
        )
    values = {name: decl.default for name, decl in decls.items()}
    for name, value in raw.items():
        if name in decls:
            values[name] = coerce(decls[name], value)
    for name, decl in decls.items():  # defaults go through the same conversion (e.g. epochs 3 -> 3.0)
        if name not in raw:
            values[name] = coerce(decl, decl.default)
    return values
