"""The cost bound: worst case and expected instance-hours, money with a price, budgets that refuse to submit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.stub import Stubber

from hf_sagemaker_tuning import TuningError
from hf_sagemaker_tuning.preflight import (
    OverBudgetError,
    check_budget,
    estimate_cost,
    load_price_table,
    lookup_price,
    price_from_table,
)
from hf_sagemaker_tuning.specs import parse_job_spec

from ..specs._base_spec import spec_with
from ._util import hfst, write_spec


def test_worst_case_is_trials_times_their_limit_or_the_tuning_job_limit() -> None:
    spec = parse_job_spec(spec_with(**{"training.max_runtime_seconds": 3600, "tuning.max_jobs": 20}))
    estimate = estimate_cost(spec, price_per_hour=1.5)
    assert estimate.worst_case_instance_hours == 20.0
    assert estimate.worst_case_cost == 30.0
    assert "trials" in estimate.worst_case_bound
    limited = parse_job_spec(
        spec_with(**{"training.max_runtime_seconds": 3600, "tuning.max_runtime_seconds": 7200})
    )  # 2 parallel trials x 2 h = 4 instance-hours at most
    estimate = estimate_cost(limited)
    assert estimate.worst_case_instance_hours == 4.0
    assert "tuning job" in estimate.worst_case_bound


def test_expected_figure_from_the_step_plan_states_its_assumptions() -> None:
    spec = parse_job_spec(spec_with(**{"dataset.max_train_samples": 55_000}))
    estimate = estimate_cost(spec, throughput=550.0)
    # 55,000 examples x 2 epochs / 550/s = 200 s + 180 s start-up, x 20 trials
    assert estimate.expected_instance_hours == pytest.approx(20 * 380 / 3600)
    text = "\n".join(estimate.lines())
    assert "55,000 training examples" in text and "2 epochs (static)" in text and "550 training samples/s" in text
    unknown = estimate_cost(parse_job_spec(spec_with()))
    assert unknown.expected_instance_hours is None and "max_train_samples" in unknown.expected_unknown
    assumed = estimate_cost(spec)
    assert any("an assumption" in line for line in assumed.assumptions)


def test_budgets_warn_and_refuse() -> None:
    spec = parse_job_spec(spec_with(budget={"max_cost": 10.0, "price_per_hour": 1.0}))
    estimate = estimate_cost(spec)
    assert estimate.over_budget and "max_cost" in estimate.over_budget[0]
    with pytest.raises(OverBudgetError, match="allow-over-budget"):
        check_budget(estimate)
    assert check_budget(estimate, allow_over_budget=True)[0].startswith("going ahead over budget")
    no_price = estimate_cost(parse_job_spec(spec_with(budget={"max_cost": 10.0})))
    assert "needs a price" in no_price.budget_unchecked
    with pytest.raises(OverBudgetError):
        check_budget(no_price)
    hours = estimate_cost(parse_job_spec(spec_with(budget={"max_instance_hours": 1000.0})))
    assert check_budget(hours) == []


def test_price_tables_flat_or_per_region(tmp_path: Path) -> None:
    flat = tmp_path / "prices.json"
    flat.write_text(json.dumps({"ml.g5.xlarge": 1.408}))
    assert price_from_table(load_price_table(flat), "ml.g5.xlarge", "us-east-1") == 1.408
    regional = tmp_path / "prices.yaml"
    regional.write_text("eu-west-1: {ml.g5.xlarge: 1.6}\nml.g5.xlarge: 1.4\n")
    table = load_price_table(regional)
    assert price_from_table(table, "ml.g5.xlarge", "eu-west-1") == 1.6
    assert price_from_table(table, "ml.g5.xlarge", "us-east-1") == 1.4
    assert price_from_table(table, "ml.p5.48xlarge", "us-east-1") is None
    (tmp_path / "bad.yaml").write_text("- 1\n")
    with pytest.raises(TuningError, match="must be a mapping"):
        load_price_table(tmp_path / "bad.yaml")


def _product(component: str, usagetype: str, usd: str) -> str:
    """One PriceList entry as the Price List API documents it (a JSON string per product)."""
    return json.dumps(
        {
            "product": {
                "productFamily": "ML Instance",
                "attributes": {
                    "instanceName": "ml.g5.xlarge",
                    "regionCode": "us-east-1",
                    "component": component,
                    "usagetype": usagetype,
                },
                "sku": "SKU1",
            },
            "serviceCode": "AmazonSageMaker",
            "terms": {
                "OnDemand": {
                    "SKU1.T1": {
                        "priceDimensions": {
                            "SKU1.T1.D1": {"unit": "Hrs", "pricePerUnit": {"USD": usd}, "description": "per hour"}
                        },
                        "sku": "SKU1",
                        "offerTermCode": "T1",
                    }
                }
            },
        }
    )


def _pricing_client() -> tuple[object, Stubber]:
    import boto3

    client = boto3.client("pricing", region_name="us-east-1")
    return client, Stubber(client)


def test_online_price_lookup_reads_the_documented_get_products_shape() -> None:
    client, stub = _pricing_client()
    expected = {
        "ServiceCode": "AmazonSageMaker",
        "FormatVersion": "aws_v1",
        "Filters": [
            {"Type": "TERM_MATCH", "Field": "regionCode", "Value": "us-east-1"},
            {"Type": "TERM_MATCH", "Field": "instanceName", "Value": "ml.g5.xlarge"},
        ],
    }
    stub.add_response(
        "get_products",
        {
            "FormatVersion": "aws_v1",
            "PriceList": [_product("Hosting", "USE1-Host:ml.g5.xlarge", "1.41")],
            "NextToken": "page2",
        },
        expected,
    )
    stub.add_response(
        "get_products",
        {"FormatVersion": "aws_v1", "PriceList": [_product("Training", "USE1-Train:ml.g5.xlarge", "1.4080000000")]},
        {**expected, "NextToken": "page2"},
    )
    with stub:
        assert lookup_price("ml.g5.xlarge", "us-east-1", client=client) == 1.408
    stub.assert_no_pending_responses()


def test_online_price_lookup_failures_are_tuning_errors() -> None:
    client, stub = _pricing_client()
    stub.add_response("get_products", {"FormatVersion": "aws_v1", "PriceList": []})
    stub.add_client_error("get_products", "AccessDeniedException", "not allowed", 400)
    with stub:
        with pytest.raises(TuningError, match="no on-demand training price"):
            lookup_price("ml.g5.xlarge", "us-east-1", client=client)
        with pytest.raises(TuningError, match="AccessDeniedException"):
            lookup_price("ml.g5.xlarge", "us-east-1", client=client)


def test_validate_and_compile_print_the_cost_bound(tmp_path: Path) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text("ml.g5.xlarge: 2.0\n")
    path = write_spec(tmp_path, spec_with(**{"training.max_runtime_seconds": 3600}))
    result = hfst("validate", str(path), "--price-table", str(prices), "--max-cost", "10")
    assert result.exit_code == 0, result.output
    assert "worst case 20.0 instance-hours of ml.g5.xlarge = 40.00 USD" in result.stderr
    assert "over budget" in result.stderr
    result = hfst("compile", str(path), "--price-per-hour", "1")
    assert result.exit_code == 0
    assert "= 20.00 USD" in result.stderr and json.loads(result.stdout)["HyperParameterTuningJobName"]
    report = json.loads(hfst("validate", str(path), "--format", "json", "--price-per-hour", "1").stdout)
    assert report["cost"]["worst_case_cost"] == 20.0 and report["cost"]["price_source"] == "--price-per-hour"


def test_cross_validation_and_repeats_multiply_the_expected_figure_by_folds_and_seeds() -> None:
    changes = {"dataset.max_train_samples": 55_000, "tuning.early_stopping": "off"}
    plain = estimate_cost(parse_job_spec(spec_with(**changes)), throughput=550.0)
    cv = estimate_cost(
        parse_job_spec(spec_with(**changes, **{"tuning.cross_validation": {"folds": 5}, "tuning.repeats": 2})),
        throughput=550.0,
    )
    # 55,000 examples x 2 epochs x 10 runs / 550/s = 2000 s + 180 s start-up, x 20 trials
    assert plain.expected_instance_hours == pytest.approx(20 * 380 / 3600)
    assert cv.expected_instance_hours == pytest.approx(20 * 2180 / 3600)
    assert any("x 10 runs per trial (5 folds x 2 seed(s)" in line for line in cv.assumptions)
    assert cv.worst_case_instance_hours == plain.worst_case_instance_hours  # each trial's own limit still bounds it
