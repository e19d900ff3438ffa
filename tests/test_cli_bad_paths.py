"""CLI cases a hostile test hit (issue 11): bad output paths and bad numbers exit 2 naming the path or value."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hf_sagemaker_tuning.backends import LocalBackend
from hf_sagemaker_tuning.cli import app
from hf_sagemaker_tuning.compile import TuningJobRequest
from hf_sagemaker_tuning.specs import parse_job_spec

from .conftest import EXAMPLE_SPEC
from .fakejob import fake_spec

runner = CliRunner()


def _no_traceback(result: object, code: int = 2) -> str:
    output = str(result.output)  # type: ignore[attr-defined]
    assert result.exit_code == code, output  # type: ignore[attr-defined]
    assert "Traceback" not in output
    return output


@pytest.mark.parametrize(
    "command",
    [
        ["schema", "-o", "{folder}"],
        ["schema", "-o", "{missing}/schema.json"],
        ["schema", "--markdown", "-o", "{folder}"],
        ["compile", str(EXAMPLE_SPEC), "-o", "{folder}"],
        ["compile", str(EXAMPLE_SPEC), "-o", "{missing}/request.json"],
    ],
)
def test_output_paths_that_are_folders_or_lack_a_parent_exit_2(tmp_path: Path, command: list[str]) -> None:
    args = [a.format(folder=tmp_path, missing=tmp_path / "no-such-folder") for a in command]
    output = _no_traceback(runner.invoke(app, args))
    assert str(tmp_path) in output.replace("\n", "")


@pytest.fixture
def finished(tmp_path: Path, make_request: Callable[..., TuningJobRequest]) -> Path:
    backend = LocalBackend(tmp_path / "jobs", poll_seconds=0.02, grace_seconds=2)
    settings = {"tuning": {"strategy": "random", "max_jobs": 4, "max_parallel_jobs": 2, "random_seed": 2}}
    backend.run(make_request("done", **settings), parse_job_spec(fake_spec(**settings)))
    return tmp_path / "jobs" / "done"


@pytest.mark.timeout(90)
def test_report_and_narrow_refuse_bad_outputs_and_bad_fractions(finished: Path, tmp_path: Path) -> None:
    assert "is a folder" in _no_traceback(runner.invoke(app, ["report", str(finished), "-o", str(tmp_path)]))
    missing = tmp_path / "nope" / "report.html"
    assert "does not exist" in _no_traceback(runner.invoke(app, ["report", str(finished), "-o", str(missing)]))
    assert "is a folder" in _no_traceback(runner.invoke(app, ["narrow", str(finished), "-o", str(tmp_path)]))
    for top in ("nan", "0", "-1", "1.5", "inf"):
        output = _no_traceback(runner.invoke(app, ["narrow", str(finished), "--top", top]))
        assert "--top" in output and "fraction" in output
    assert _no_traceback(runner.invoke(app, ["narrow", str(finished), "--top", "0.5"]), code=0)
