"""Write a spec file and run ``hfst`` on it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from click.testing import Result
from typer.testing import CliRunner

from hf_sagemaker_tuning.cli import app


def write_spec(tmp_path: Path, data: dict[str, Any], name: str = "job.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def hfst(*args: str) -> Result:
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.output, result.output
    return result
