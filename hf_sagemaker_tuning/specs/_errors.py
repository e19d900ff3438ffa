"""From pydantic's ``ValidationError`` to a ``SpecError`` that names each field path, with values cut short.

One translation for every way a spec is made: YAML/JSON files, ``parse_job_spec``, ``model_validate``
and the Python constructors, so they all give the same messages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import SpecError

if TYPE_CHECKING:  # pragma: no cover
    from pydantic import ValidationError

#: Values longer than this (as text) are cut in messages, so a 50 MB value is never echoed whole.
MAX_SHOWN = 200
#: At most this many problems are listed one per line; the rest are counted.
MAX_LISTED = 20
#: A safety net for messages built elsewhere (validators, pydantic) that still run long.
MAX_MESSAGE = 1000
_UNION_TAGS = {"continuous", "integer", "categorical"}


class SpecFieldError(ValueError):
    """A cross-field check failed at ``path`` (dotted, relative to the model that raised it)."""

    def __init__(self, path: str, message: str):
        self.path = path
        super().__init__(message)


def cut(text: str, limit: int = MAX_SHOWN) -> str:
    """``text`` itself when short; else its first ``limit`` characters, an ellipsis and the full length."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters)"


def shorten(value: object, limit: int = MAX_SHOWN) -> str:
    """``repr(value)`` for a message, cut to about ``limit`` characters (long strings are sliced before repr)."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}… ({len(value):,} characters)"
    return cut(repr(value), limit)


def _path(loc: tuple[int | str, ...], names_at: int | None) -> str:
    """Dotted path of a pydantic location; ``names_at``: where search-space parameter names sit in ``loc``."""
    if names_at is None and loc and loc[0] == "search_space":
        names_at = 1
    parts: list[str] = []
    for i, item in enumerate(loc):
        # pydantic puts the union tag after the parameter name (search_space.lr.continuous.min): drop it.
        if names_at is not None and i == names_at + 1 and item in _UNION_TAGS:
            continue
        if item == "root" and (parts == ["search_space"] or (names_at == 0 and i == 0)):
            continue
        parts.append(f"[{item}]" if isinstance(item, int) else cut(str(item)))
    return ".".join(parts).replace(".[", "[") or "(top level)"


def spec_error(exc: ValidationError, source: str | None = None, *, model: str | None = None) -> SpecError:
    """Turn pydantic's ``ValidationError`` into a ``SpecError`` whose lines name each field.

    Args:
        exc: What pydantic raised.
        source: The file the spec came from (named in the first line).
        model: The class validated when it is not a whole job spec (``ContinuousParameter``): named in the
            first line instead of "spec"; paths are relative to it.
    """
    errors: list[tuple[str, str]] = []
    names_at = 0 if model == "SearchSpace" else None
    for err in exc.errors(include_url=False):
        path = _path(tuple(err["loc"]), names_at)
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
            message = f"{message} (got {shorten(err['input'])})"
        errors.append((path, cut(message, MAX_MESSAGE)))
    what = model or "spec"
    where = f" in {source}" if source else ""
    lines = [f"invalid {what}{where}: {len(errors)} problem{'s' if len(errors) != 1 else ''}"]
    lines += [f"  {path}: {message}" for path, message in errors[:MAX_LISTED]]
    if len(errors) > MAX_LISTED:
        lines.append(f"  ... and {len(errors) - MAX_LISTED:,} more")
    return SpecError("\n".join(lines), errors=errors, source=source)
