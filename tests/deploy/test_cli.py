"""``hfst deploy / predict / endpoints / undeploy`` through typer's test runner."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from hf_sagemaker_tuning.cli.deploy import register

from .conftest import LABELS


@pytest.fixture
def app() -> typer.Typer:
    application = typer.Typer(pretty_exceptions_enable=False)
    register(application)
    return application


def _ok(result: object) -> str:
    exit_code, output = result.exit_code, result.output  # type: ignore[attr-defined]
    assert exit_code == 0, (output, result.exception)  # type: ignore[attr-defined]
    return str(output)


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_deploy_predict_endpoints_undeploy(app: typer.Typer, model_dir: Path) -> None:
    runner = CliRunner()
    out = _ok(runner.invoke(app, ["deploy", str(model_dir), "--port", "0", "--name", "cli-ep", "--threads", "1"]))
    assert "deployed cli-ep at http://127.0.0.1:" in out
    try:
        out = _ok(runner.invoke(app, ["predict", "cli-ep", "Best thing ever!", "Worst day ever."]))
        assert any(label in out for label in LABELS.values())
        assert "LABEL_" not in out
        answers = json.loads(
            _ok(runner.invoke(app, ["predict", "cli-ep", "Best thing ever!", "--json", "--top-k", "3"]))
        )
        assert {item["label"] for item in answers} == set(LABELS.values())
        listed = json.loads(_ok(runner.invoke(app, ["endpoints", "--json"])))
        assert [(row["name"], row["kind"], row["status"]) for row in listed] == [("cli-ep", "local", "running")]
        assert "cli-ep" in _ok(runner.invoke(app, ["endpoints"]))
    finally:
        out = _ok(runner.invoke(app, ["undeploy", "cli-ep"]))
    assert "undeployed cli-ep" in out
    assert "no endpoints" in _ok(runner.invoke(app, ["endpoints"]))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["deploy", "/no/such/folder"], "is neither a model folder"),
        (["deploy"], "pass a tuning job or a model folder"),
        (["deploy", "job", "--training-job", "t"], "one of the two"),
        (["deploy", "-b", "sagemaker", "job"], "need --region"),
        (["deploy", "--training-job", "t", "--region", "us-east-1"], "--training-job needs --role"),
        (["deploy", "--training-job", "t", "--role", "admin", "--region", "us-east-1"], "IAM role ARN"),
        (
            [
                "deploy",
                "--training-job",
                "t",
                "--role",
                "arn:aws:iam::123456789012:role/R",
                "--region",
                "us-east-1",
                "--instance-type",
                "ml.m5.xlargee",
            ],
            "instance_type: ",
        ),
        (["predict", "nope", "text"], "no endpoint named 'nope'"),
        (["undeploy", "nope"], "no endpoint named 'nope'"),
    ],
)
def test_user_errors_exit_2_without_a_traceback(app: typer.Typer, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "error:" in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_deploying_a_job_says_which_model_it_serves(
    app: typer.Typer, model_dir: Path, tmp_path: Path, make_request: Callable[..., Any]
) -> None:
    from hf_sagemaker_tuning.backends.local import LocalBackend

    backend = LocalBackend(tmp_path / "jobs", poll_seconds=0.02, grace_seconds=2)
    backend.run(make_request("served", tuning={"strategy": "random", "max_jobs": 2, "max_parallel_jobs": 2}))
    job = tmp_path / "jobs" / "served"
    best = backend.best_model(str(job))
    shutil.rmtree(best.location)  # the fake trial's model, swapped for a servable one of the same trial
    shutil.copytree(model_dir, best.location)
    runner = CliRunner()
    out = _ok(runner.invoke(app, ["deploy", str(job), "--port", "0", "--name", "from-job", "--threads", "1"]))
    try:
        assert f"serving trial {best.training_job_name} (" in out
        assert f"objective {best.objective:.6g}" in out
    finally:
        _ok(runner.invoke(app, ["undeploy", "from-job"]))
