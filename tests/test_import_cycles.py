"""No import cycles among the package's modules.

Two graphs are checked: the module-level imports (the ones that run at import time), and every
import, function bodies included. An import inside a function is lazy (it keeps ``hfst --help``
cheap) but a cycle through one is still a cycle: two modules that need each other, held apart
only by where the import statement sits. Imports under ``if TYPE_CHECKING:`` never run and do
not count in either graph.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "hf_sagemaker_tuning"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _statements(tree: ast.Module, *, nested: bool) -> list[ast.stmt]:
    """The statements whose imports count: the module's own (through ``if``/``try``), and with
    ``nested`` also those in function and class bodies; never those under ``if TYPE_CHECKING:``."""
    found: list[ast.stmt] = []
    body: list[ast.stmt] = list(tree.body)
    while body:
        node = body.pop(0)
        found.append(node)
        if isinstance(node, ast.If):
            if not _is_type_checking(node):
                body.extend(node.body + node.orelse)
            elif nested:
                body.extend(node.orelse)
        elif isinstance(node, ast.Try):
            body.extend(node.body + node.orelse + node.finalbody + [s for h in node.handlers for s in h.body])
        elif nested and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body.extend(node.body)
        elif nested and isinstance(node, (ast.With, ast.AsyncWith, ast.For, ast.AsyncFor, ast.While)):
            body.extend(node.body + getattr(node, "orelse", []))
    return found


def _imports(path: Path, modules: set[str], *, nested: bool = False, name: str | None = None) -> set[str]:
    name = name or _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in _statements(ast.parse(path.read_text(encoding="utf-8")), nested=nested):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {m for m in found if m in modules and m != name}


def _graph(*, nested: bool = False) -> dict[str, set[str]]:
    files = {(_module_name(p)): p for p in PACKAGE.rglob("*.py") if "_training" not in p.parts}
    modules = set(files)
    return {name: _imports(path, modules, nested=nested) for name, path in files.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return out


def _parent_edges_only(component: list[str], graph: dict[str, set[str]]) -> bool:
    """A package that imports its own submodules at the top is the normal shape, not a cycle."""
    members = set(component)
    for name in component:
        for target in graph[name] & members:
            if not (target.startswith(name + ".") or name.startswith(target + ".")):
                return False
    return True


def test_the_package_has_no_import_cycles() -> None:
    graph = _graph()
    cycles = [c for c in _cycles(graph) if not _parent_edges_only(c, graph)]
    assert not cycles, cycles


def test_the_package_has_no_import_cycles_through_function_level_imports() -> None:
    graph = _graph(nested=True)
    cycles = [c for c in _cycles(graph) if not _parent_edges_only(c, graph)]
    assert not cycles, cycles


def test_the_checker_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]


def test_the_checker_sees_imports_inside_functions_but_not_type_checking_ones(tmp_path: Path) -> None:
    source = tmp_path / "hf_sagemaker_tuning" / "mod.py"
    source.parent.mkdir()
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from . import typed\n"
        "def f():\n    with open('x'):\n        from .lazy import g\n"
        "class C:\n    def m(self):\n        import hf_sagemaker_tuning.other\n"
    )
    modules = {"hf_sagemaker_tuning.typed", "hf_sagemaker_tuning.lazy", "hf_sagemaker_tuning.other"}
    nested = _imports(source, modules, nested=True, name="hf_sagemaker_tuning.mod")
    assert nested == {"hf_sagemaker_tuning.lazy", "hf_sagemaker_tuning.other"}
    assert _imports(source, modules, nested=False, name="hf_sagemaker_tuning.mod") == set()
