"""`hfst tune --backend sagemaker` refuses a job whose worst case breaks the budget, unless told to go ahead."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hf_sagemaker_tuning.preflight import OverBudgetError
from hf_sagemaker_tuning.specs import parse_job_spec
from hf_sagemaker_tuning.tuning_job import tune

from ..specs._base_spec import spec_with
from ._util import hfst, write_spec

pytestmark = [pytest.mark.aws, pytest.mark.timeout(120)]


def test_tune_refuses_before_anything_is_sent(tmp_path: Path) -> None:
    spec = parse_job_spec(spec_with(budget={"max_instance_hours": 5.0}))  # worst case: 20 trials x 24 h
    with pytest.raises(OverBudgetError, match=r"480\.0 instance-hours > max_instance_hours 5\.0"):
        tune(spec, "sagemaker", region="us-east-1")


def test_the_cli_refuses_then_goes_ahead_when_told(
    moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="budget-bucket")
    data = spec_with(**{"name": "over-budget", "sagemaker.output_path": "s3://budget-bucket/hpo"})
    path = write_spec(tmp_path, data)
    args = ["tune", str(path), "--backend", "sagemaker", "--detach", "--max-cost", "100", "--price-per-hour", "1.5"]
    refused = hfst(*args)
    assert refused.exit_code == 2
    assert "not submitted: worst case 720.00 USD > max_cost 100.00 USD" in refused.output
    went_on = hfst(*args, "--allow-over-budget")
    assert went_on.exit_code == 2  # past the budget, it stops at the next check: the data was never prepared
    assert "no prepared dataset" in went_on.output and "not submitted" not in went_on.output


def _options(command: str) -> set[str]:
    """Every option ``hfst COMMAND`` takes, as spelled on the command line."""
    import typer.main

    from hf_sagemaker_tuning.cli import app

    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    return {opt for param in group.commands[command].params for opt in param.opts if opt.startswith("--")}


@pytest.mark.parametrize("command", ["tune", "validate"])
def test_a_budget_without_a_price_names_only_options_the_command_has(
    command: str, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    path = write_spec(tmp_path, spec_with(**{"name": "no-price", "sagemaker.output_path": "s3://budget-bucket/hpo"}))
    args = ["--backend", "sagemaker"] + (["--detach"] if command == "tune" else [])
    result = hfst(command, str(path), *args, "--max-cost", "100")
    assert "needs a price per hour" in result.output
    if command == "tune":
        assert result.exit_code == 2 and "not submitted" in result.output
    named = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", result.output))
    assert named and named <= _options(command), f"{named - _options(command)} are not options of hfst {command}"
