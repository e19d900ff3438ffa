"""docs/training.md documents the declared contract: the hyperparameter table is generated, so it cannot drift."""

from __future__ import annotations

import json
import re

from hfst_train.hparams import load_declarations
from hfst_train.metrics import load_metric_declarations

from tests.training.conftest import REPO, TRAINING_DIR

DOC = REPO / "docs" / "training.md"
START, END = "<!-- hyperparameters:start -->", "<!-- hyperparameters:end -->"


def _bounds(min_: float | None, max_: float | None, choices: tuple[str, ...] | None) -> str:
    if choices:
        return ", ".join(f"`{choice}`" for choice in choices)
    low = "" if min_ is None else f"{min_:g}"
    high = "" if max_ is None else f"{max_:g}"
    if low and high:
        return f"[{low}, {high}]"
    return f">= {low}" if low else (f"<= {high}" if high else "")


def render_table() -> str:
    """The Markdown table of the declared hyperparameters (paste this between the markers)."""
    rows = ["| name | type | default | allowed (inclusive) | what it does |", "| --- | --- | --- | --- | --- |"]
    for decl in load_declarations().values():
        default = json.dumps(decl.default)
        rows.append(
            f"| `{decl.name}` | {decl.type} | `{default}` | {_bounds(decl.min, decl.max, decl.choices)} | {decl.help} |"
        )
    return "\n".join(rows)


def test_hyperparameter_table_matches_the_declarations() -> None:
    text = DOC.read_text(encoding="utf-8")
    found = re.search(re.escape(START) + r"\n(.*?)\n" + re.escape(END), text, flags=re.S)
    assert found is not None, f"{DOC} lacks the {START} ... {END} block"
    assert found.group(1) == render_table(), "regenerate the table:\n" + render_table()


def test_metric_line_and_every_metric_are_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    prefix, names = load_metric_declarations()
    assert f"{prefix} epoch=" in text
    for name in names:
        assert f"`{name}`" in text


def test_requirements_stay_minimal() -> None:
    lines = [
        line.strip()
        for line in (TRAINING_DIR / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines == []  # torch, transformers, datasets, numpy, safetensors come with the HF image


def test_training_package_imports_nothing_from_the_library() -> None:
    import ast

    for path in sorted(TRAINING_DIR.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            assert not any(m.split(".")[0] == "hf_sagemaker_tuning" for m in modules), path
