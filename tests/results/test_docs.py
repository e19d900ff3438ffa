"""The Python example in docs/results.md runs as written, on a real finished local job."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "results.md"


def test_docs_example_runs(finished_job: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
    assert blocks, "docs/results.md has no python example"
    shutil.copytree(finished_job, tmp_path / "jobs" / "my-job")
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), {"__name__": "docs_example"})
    for name in ("objective", "parameters", "parallel", "importance", "curves"):
        assert (tmp_path / f"{name}.png").stat().st_size > 0
    assert "data:image/png;base64," in (tmp_path / "report.html").read_text(encoding="utf-8")
