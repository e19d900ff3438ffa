"""Serve the best model: a local endpoint (the SageMaker serving contract) or a real SageMaker endpoint.

``deploy_local(model_dir)`` starts ``python -m hf_sagemaker_tuning.deploy.server`` in the
background; ``deploy_sagemaker(tuning_job_name, role=..., region=...)`` deploys the best training
job with sagemaker v3 ``ModelBuilder``. Both return an endpoint object with ``predict`` that is a
context manager that always undeploys. Endpoints are registered by name on disk
(``$HFST_STATE_DIR``), so ``Predictor.for_endpoint(name)`` and ``undeploy(name)`` work from any
process. Importing this package imports neither torch, transformers nor sagemaker.
"""

from __future__ import annotations

from ._errors import DeployError, PredictError
from ._local import LocalEndpoint, deploy_local
from ._predictor import LocalPredictor, Predictor
from ._registry import EndpointRecord
from ._remote import (
    SageMakerEndpoint,
    SageMakerPredictor,
    choose_inference_image,
    deploy_sagemaker,
)

__all__ = [
    "DeployError",
    "EndpointRecord",
    "LocalEndpoint",
    "LocalPredictor",
    "PredictError",
    "Predictor",
    "SageMakerEndpoint",
    "SageMakerPredictor",
    "choose_inference_image",
    "deploy_local",
    "deploy_sagemaker",
    "list_endpoints",
    "undeploy",
]


def list_endpoints() -> list[EndpointRecord]:
    """Every registered endpoint, local and SageMaker, by name."""
    from ._registry import all_records

    return all_records()


def undeploy(name: str) -> list[str]:
    """Stop and forget the endpoint called ``name`` (either kind); return what was removed."""
    from ._registry import load

    record = load(name)
    if record.kind == "sagemaker":
        return SageMakerEndpoint.from_name(name).undeploy()
    return LocalEndpoint(record).undeploy()
