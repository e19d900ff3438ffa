"""Pre-flight: what SageMaker would refuse, what the job may bill, and what the account allows, before submitting.

* ``check_spec`` / ``check_spec_file``: offline checks, from botocore's SageMaker service model and from what
  ``compile``, the image lookup and submit refuse; every problem at once, each with its field path.
* ``estimate_cost``: the worst-case and expected instance-hours (and money, given a price).
* ``check_online``: read-only checks with the user's credentials (role, buckets, prepared data, quota).

Importing this package is cheap: botocore and boto3 are imported when a check runs.
"""

from ._findings import Finding, Findings
from .cost import CostEstimate, OverBudgetError, assumed_throughput, check_budget, estimate_cost
from .offline import check_spec, check_spec_file, default_target, model_folder_problem
from .online import OnlineCheck, check_online
from .pricing import load_price_table, lookup_price, price_from_table
from .service_model import (
    endpoint_instance_problem,
    endpoint_instance_types,
    request_field_problems,
    training_instance_problem,
    training_instance_types,
)

__all__ = [
    "CostEstimate",
    "Finding",
    "Findings",
    "OnlineCheck",
    "OverBudgetError",
    "assumed_throughput",
    "check_budget",
    "check_online",
    "check_spec",
    "check_spec_file",
    "default_target",
    "endpoint_instance_problem",
    "endpoint_instance_types",
    "estimate_cost",
    "load_price_table",
    "lookup_price",
    "model_folder_problem",
    "price_from_table",
    "request_field_problems",
    "training_instance_problem",
    "training_instance_types",
]
