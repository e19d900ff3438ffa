"""Reading a spec file as bounded input: a size limit, no YAML anchors or aliases, a node and depth budget.

A job spec is a few KB of plain data. The limits here refuse what is not, early and with a message
naming the file (and line): a 50 MB file, a 419-byte YAML "billion laughs" alias bomb, millions of keys.
"""

from __future__ import annotations

import json
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


class SpecLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses anchors and aliases and keeps to the node and depth budget.

    A spec is plain data; aliases allow documents that expand a few hundred bytes into gigabytes.
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
        data = json.loads(text) if is_json else parse_yaml(text, source)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        kind = "JSON" if is_json else "YAML"
        raise SpecError(f"spec file {source!r} is not valid {kind}: {exc}", source=source) from None
    except RecursionError:
        raise SpecError(
            f"spec file {source!r}: nested deeper than {MAX_SPEC_DEPTH} levels; a job spec nests 4", source=source
        ) from None
    if data is None:
        raise SpecError(f"spec file {source!r} is empty", source=source)
    if is_json:
        _check_json(data, source)
    return data
