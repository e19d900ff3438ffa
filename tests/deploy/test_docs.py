"""The local-endpoint Python example in docs/deployment.md runs as written (on the tiny test model)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hf_sagemaker_tuning.deploy import list_endpoints

DOC = Path(__file__).resolve().parents[2] / "docs" / "deployment.md"


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_local_example_runs(model_dir: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
    local = [block for block in blocks if "deploy_local(" in block]
    assert local, "docs/deployment.md has no local-endpoint example"
    for block in local:
        code = block.replace('"runs/best/model"', repr(str(model_dir)))
        exec(compile(code, str(DOC), "exec"), {"__name__": "docs_example"})
    assert list_endpoints() == []  # the with block undeployed
