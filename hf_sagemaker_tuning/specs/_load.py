"""Reading a spec file as bounded input: a size limit, no YAML anchors or aliases, a node and depth budget.

A job spec is a few KB of plain data. The limits here refuse what is not, early and with a message
naming the file (and line): a 50 MB file, a 419-byte YAML "billion laughs" alias bomb, millions of keys.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import yaml

from ..errors import SpecError
from ._errors import cut

#: Largest spec file read (1 MiB).
MAX_SPEC_BYTES = 1024 * 1024
#: Most values (scalars, mappings, lists) in one spec; a real spec holds a few dozen to a few hundred.
MAX_SPEC_NODES = 10_000
#: Deepest nesting of mappings and lists; a real spec nests 4 levels.
MAX_SPEC_DEPTH = 32
#: Longest number written in a spec (characters); Python refuses to read integers past 4,300 digits,
#: and no field of a spec needs more than a handful.
MAX_NUMBER_CHARS = 100


class _Budget:
    """Counts YAML events as they stream past; raises ``SpecError`` at the first one out of bounds."""

    def __init__(self, source: str) -> None:
        self.source, self.nodes, self.depth = source, 0, 0

    def _fail(self, event: Any, problem: str) -> SpecError:
        mark = event.start_mark
        where = f"spec file {self.source!r}, line {mark.line + 1}, column {mark.column + 1}"
        return SpecError(f"{where}: {problem}", source=self.source)

    def see(self, event: Any) -> None:
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            what = f"alias *{event.anchor}" if isinstance(event, yaml.AliasEvent) else f"anchor &{event.anchor}"
            raise self._fail(
                event, f"YAML anchors and aliases are not allowed in spec files ({cut(what, 60)}); write the values out"
            )
        if isinstance(event, (yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            self.nodes += 1
            if self.nodes > MAX_SPEC_NODES:
                raise self._fail(event, f"more than {MAX_SPEC_NODES:,} values; a job spec holds a few dozen")
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            self.depth += 1
            if self.depth > MAX_SPEC_DEPTH:
                raise self._fail(event, f"nested deeper than {MAX_SPEC_DEPTH} levels; a job spec nests 4")
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            self.depth -= 1


class _SpecValueError(yaml.constructor.ConstructorError):
    """A value PyYAML reads but a spec refuses (a duplicate key, a date, a 5,000-digit number)."""


def _scalar_problem(node: Any, what: str) -> _SpecValueError:
    return _SpecValueError(None, None, what, node.start_mark)


def _yaml_problem(exc: yaml.YAMLError, source: str) -> SpecError:
    """One line naming the file, line and column: PyYAML's own text spans several lines with a snippet."""
    if not isinstance(exc, yaml.MarkedYAMLError):  # a reader error: a byte or character YAML refuses
        return SpecError(
            f"spec file {source!r} is not valid YAML: {cut(' '.join(str(exc).split()), 200)}", source=source
        )
    mark = exc.problem_mark or exc.context_mark
    where = f"spec file {source!r}" + (f", line {mark.line + 1}, column {mark.column + 1}" if mark else "")
    problem = ": ".join(part for part in (exc.context, exc.problem) if part)
    if isinstance(exc, _SpecValueError):
        return SpecError(f"{where}: {problem}", source=source)
    return SpecError(f"{where} is not valid YAML: {problem}", source=source)


class SpecLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses anchors and aliases and keeps to the node and depth budget.

    A spec is plain data; aliases allow documents that expand a few hundred bytes into gigabytes.
    Every value PyYAML cannot build (``!!int abc``, a 5,000-digit number, ``2001-13-45``) and every
    duplicate key becomes a ``ConstructorError`` that names the line, never a bare ``ValueError``.
    """

    def __init__(self, stream: str, source: str = "<string>") -> None:
        super().__init__(stream)
        self.budget = _Budget(source)

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.budget.see(self.peek_event())  # type: ignore[no-untyped-call]
        return super().compose_node(parent, index)

    def compose_sequence_node(self, anchor: Any) -> Any:
        node = super().compose_sequence_node(anchor)
        self.budget.depth -= 1
        return node

    def compose_mapping_node(self, anchor: Any) -> Any:
        node = super().compose_mapping_node(anchor)
        self.budget.depth -= 1
        return node

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        # PyYAML keeps the last of two equal keys; a spec with two `tuning:` sections is a mistake
        # whichever one was meant, so it is refused with both lines named.
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node)
                except TypeError:  # unhashable: construct_mapping below says so
                    continue
                if first is not key_node:
                    raise _scalar_problem(
                        key_node,
                        f"duplicate key {cut(str(key_node.value), 60)!r} (first at line {first.start_mark.line + 1});"
                        " each key may appear once",
                    )
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: Any) -> Any:
        self._bounded_number(node)
        try:
            return super().construct_yaml_int(node)
        except ValueError:
            raise _scalar_problem(node, f"{cut(str(node.value), 60)!r} is not an integer") from None

    def construct_yaml_float(self, node: Any) -> Any:
        self._bounded_number(node)
        try:
            return super().construct_yaml_float(node)
        except ValueError:
            raise _scalar_problem(node, f"{cut(str(node.value), 60)!r} is not a number") from None

    def construct_yaml_timestamp(self, node: Any, values: Any = None) -> Any:
        # YAML 1.1 reads an unquoted 2001-12-25 as a date (and 2001-13-45 as a broken one); no spec
        # field is a date, so say how to write the text that was meant.
        text = cut(str(node.value), 60)
        raise _scalar_problem(node, f"YAML reads {text} as a date; no spec field is a date: quote it ('{text}')")

    def _bounded_number(self, node: Any) -> None:
        if len(str(node.value)) > MAX_NUMBER_CHARS:
            raise _scalar_problem(
                node,
                f"a number of {len(str(node.value)):,} characters; numbers in a spec are at most {MAX_NUMBER_CHARS}",
            )


for _tag, _method in (
    ("tag:yaml.org,2002:int", SpecLoader.construct_yaml_int),
    ("tag:yaml.org,2002:float", SpecLoader.construct_yaml_float),
    ("tag:yaml.org,2002:timestamp", SpecLoader.construct_yaml_timestamp),
):
    SpecLoader.add_constructor(_tag, _method)


def parse_yaml(text: str, source: str = "<string>") -> Any:
    """Parse one YAML document as a spec's data, within the bounds (``SpecError`` naming the line if not)."""
    if yaml.__with_libyaml__:  # a fast first pass in C: refuse out-of-bounds input before building anything
        budget = _Budget(source)
        for event in yaml.parse(text, Loader=yaml.CSafeLoader):
            budget.see(event)
    loader = SpecLoader(text, source)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _check_json(data: Any, source: str) -> None:
    nodes, stack = 0, [(data, 1)]
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > MAX_SPEC_NODES:
            raise SpecError(f"spec file {source!r}: more than {MAX_SPEC_NODES:,} values; a job spec holds a few dozen")
        if depth > MAX_SPEC_DEPTH:
            raise SpecError(f"spec file {source!r}: nested deeper than {MAX_SPEC_DEPTH} levels; a job spec nests 4")
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, depth + 1) for child in children)


def _json_number(text: str) -> Any:
    """A JSON number within bounds: at most ``MAX_NUMBER_CHARS`` long and finite (``1e999`` reads as inf)."""
    if len(text) > MAX_NUMBER_CHARS:
        raise _JsonValueError(f"a number of {len(text):,} characters; numbers in a spec are at most {MAX_NUMBER_CHARS}")
    value = int(text) if text.lstrip("-").isdigit() else float(text)
    if isinstance(value, float) and not math.isfinite(value):
        raise _JsonValueError(f"{cut(text, 40)} is out of range (reads as {value})")
    return value


def _json_constant(text: str) -> Any:
    raise _JsonValueError(f"{text} is not JSON (JSON numbers are finite)")


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise _JsonValueError(f"duplicate key {cut(key, 60)!r}; each key may appear once")
        data[key] = value
    return data


class _JsonValueError(ValueError):
    """A JSON value out of a spec's bounds (raised from the decoder's hooks)."""


def _too_big(source: str, size: int | None) -> SpecError:
    got = f"is {size:,} bytes" if size is not None else "grew past the limit while being read"
    return SpecError(
        f"spec file {source!r} {got}; spec files are limited to {MAX_SPEC_BYTES // (1024 * 1024)} MiB "
        f"({MAX_SPEC_BYTES:,} bytes)",
        source=source,
    )


def read_spec_file(path: str | Path) -> Any:
    """The parsed data of a ``.yaml``/``.yml``/``.json`` spec file, within the bounds.

    Raises:
        SpecError: missing, unreadable, larger than ``MAX_SPEC_BYTES``, not YAML/JSON, anchors or aliases,
            more than ``MAX_SPEC_NODES`` values, deeper than ``MAX_SPEC_DEPTH``, or empty.
    """
    file = Path(path)
    source = str(file)
    if file.is_dir():
        raise SpecError(f"spec file {source!r} is a folder; give a .yaml/.yml or .json file", source=source)
    if not file.is_file():
        raise SpecError(f"spec file {source!r} does not exist", source=source)
    try:
        size = file.stat().st_size
        if size > MAX_SPEC_BYTES:
            raise _too_big(source, size)
        with file.open("rb") as handle:
            raw = handle.read(MAX_SPEC_BYTES + 1)  # the file may grow between stat and read
        if len(raw) > MAX_SPEC_BYTES:
            raise _too_big(source, None)
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read spec file {source!r}: {exc}", source=source) from None
    is_json = file.suffix.lower() == ".json"
    try:
        data = (
            json.loads(
                text,
                parse_int=_json_number,
                parse_float=_json_number,
                parse_constant=_json_constant,
                object_pairs_hook=_json_object,
            )
            if is_json
            else parse_yaml(text, source)
        )
    except yaml.YAMLError as exc:
        raise _yaml_problem(exc, source) from None
    except json.JSONDecodeError as exc:
        raise SpecError(f"spec file {source!r} is not valid JSON: {exc}", source=source) from None
    except _JsonValueError as exc:
        raise SpecError(f"spec file {source!r}: {exc}", source=source) from None
    except RecursionError:
        raise SpecError(
            f"spec file {source!r}: nested deeper than {MAX_SPEC_DEPTH} levels; a job spec nests 4", source=source
        ) from None
    if data is None:
        raise SpecError(f"spec file {source!r} is empty", source=source)
    if is_json:
        _check_json(data, source)
    return data
