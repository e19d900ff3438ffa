"""The Python example in docs/data.md runs as written (with the shared data path made absolute)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "data.md"


def test_docs_example_runs(tweeteval: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
    assert blocks, "docs/data.md has no python example"
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        code = block.replace('"../shared/data/tweeteval/', f'"{tweeteval}/')
        exec(compile(code, str(DOC), "exec"), {"__name__": "docs_example"})
    assert (tmp_path / "prepared" / "sentiment" / "manifest.json").is_file()
