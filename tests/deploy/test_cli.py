"""``hfst deploy / predict / endpoints / undeploy`` through typer's test runner."""

from __future__ import annotations

import json
from pathlib import Path

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
