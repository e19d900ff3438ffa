"""Prices per instance-hour: from a price table file, or looked up with the AWS Price List API.

A price table is a YAML or JSON mapping, either flat (``{ml.g5.xlarge: 1.408}``) or per region
(``{us-east-1: {ml.g5.xlarge: 1.408}}``), optionally with ``currency: USD``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import TuningError, translate_client_error

SERVICE_CODE = "AmazonSageMaker"
#: The Price List API answers from these regions only; us-east-1 serves every region's prices.
PRICING_API_REGION = "us-east-1"


def load_price_table(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a price table file (YAML or JSON); ``TuningError`` naming the file when it is not one."""
    import yaml

    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
        data = json.loads(text) if file.suffix.lower() == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise TuningError(f"cannot read price table {file}: {exc}") from None
    if not isinstance(data, dict):
        raise TuningError(f"price table {file} must be a mapping of instance type to price per hour")
    return data


def price_from_table(table: Mapping[str, Any], instance_type: str, region: str) -> float | None:
    """The price of ``instance_type`` in ``region`` from a table (the region's entry first, then a flat one)."""
    for scope in (table.get(region), table):
        if isinstance(scope, Mapping) and instance_type in scope:
            value = scope[instance_type]
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
                return float(value)
            raise TuningError(f"price table: the price of {instance_type} must be a positive number, not {value!r}")
    return None


def _training_price(item: Mapping[str, Any], instance_type: str) -> float | None:
    """The on-demand USD price per hour of one Price List product, if it is ``instance_type``'s training price."""
    product = item.get("product", {})
    attributes = product.get("attributes", {})
    if attributes.get("instanceName", instance_type) != instance_type:
        return None
    usage = str(attributes.get("usagetype", ""))
    component = str(attributes.get("component", ""))
    if "spot" in usage.lower() or not (component.lower() == "training" or "Train:" in usage):
        return None
    for term in item.get("terms", {}).get("OnDemand", {}).values():
        for dimension in term.get("priceDimensions", {}).values():
            usd = dimension.get("pricePerUnit", {}).get("USD")
            if usd is not None and float(usd) > 0:
                return float(usd)
    return None


def lookup_price(instance_type: str, region: str, *, session: Any | None = None, client: Any | None = None) -> float:
    """The on-demand training price (USD per hour) of ``instance_type`` in ``region`` (Price List API, read only).

    Args:
        instance_type: e.g. ``ml.g5.xlarge``.
        region: The region the job runs in.
        session: A ``boto3.Session`` (default: a new one).
        client: A ``pricing`` client to use instead (tests pass a stubbed one).

    Raises:
        TuningError: the call failed (with AWS's code and message) or no training price was listed.
    """
    if client is None:
        import boto3

        client = (session or boto3.Session()).client("pricing", region_name=PRICING_API_REGION)
    from botocore.exceptions import BotoCoreError, ClientError

    filters = [
        {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
        {"Type": "TERM_MATCH", "Field": "instanceName", "Value": instance_type},
    ]
    kwargs: dict[str, Any] = {"ServiceCode": SERVICE_CODE, "Filters": filters, "FormatVersion": "aws_v1"}
    while True:
        try:
            page = client.get_products(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise translate_client_error(exc, "GetProducts (AWS Price List)") from exc
        for text in page.get("PriceList", []):
            price = _training_price(json.loads(text) if isinstance(text, str) else text, instance_type)
            if price is not None:
                return price
        token = page.get("NextToken")
        if not token:
            raise TuningError(f"the AWS Price List has no on-demand training price for {instance_type} in {region}")
        kwargs["NextToken"] = token
