"""The only module of ``deploy`` that imports the sagemaker SDK (v3, ~4 s to import: loaded lazily)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any


def deploy_model(
    *,
    image_uri: str,
    model_data_url: str,
    role_arn: str,
    instance_type: str,
    endpoint_name: str,
    env_vars: Mapping[str, str],
    boto_session: Any,
) -> None:
    """``ModelBuilder`` pass-through: CreateModel (named ``endpoint_name``), then the endpoint config and endpoint.

    v3 has no ``HuggingFace`` model class and no ``tuner.deploy()``; pass-through mode (an image
    plus model data) is its supported way to serve a trained artifact.
    """
    with warnings.catch_warnings():
        # sagemaker 3.27 imports its own deprecated shims (sagemaker.train.configs, base_serializers...).
        warnings.simplefilter("ignore", DeprecationWarning)
        from sagemaker.core.helper.session_helper import Session
        from sagemaker.serve.model_builder import ModelBuilder

    session = Session(boto_session=boto_session)
    with warnings.catch_warnings():
        # sagemaker 3.27's ModelBuilder warns about its own default for a parameter we never pass.
        warnings.filterwarnings("ignore", "The 'dependencies' parameter is deprecated", DeprecationWarning)
        builder = ModelBuilder(
            image_uri=image_uri,
            s3_model_data_url=model_data_url,
            role_arn=role_arn,
            instance_type=instance_type,
            env_vars=dict(env_vars),
            sagemaker_session=session,
        )
    builder.build(model_name=endpoint_name)
    # The SDK's own wait sleeps 30 s before it first looks; ours looks at once, then every few seconds.
    builder.deploy(endpoint_name=endpoint_name, initial_instance_count=1, wait=False)
    wait_in_service(boto_session.client("sagemaker"), endpoint_name)


#: Endpoint states that are still on their way (DescribeEndpoint's EndpointStatus).
_PENDING = ("Creating", "Updating", "SystemUpdating")


def wait_in_service(client: Any, endpoint_name: str, *, poll_seconds: float = 10.0) -> None:
    """Return once the endpoint is ``InService``; look at once, then every ``poll_seconds``.

    Raises:
        DeployError: the endpoint ended in another state (its ``FailureReason`` with it).
    """
    import time

    from ._errors import DeployError

    while True:
        answer = client.describe_endpoint(EndpointName=endpoint_name)
        status = answer.get("EndpointStatus")
        if status == "InService":
            return
        if status not in _PENDING:
            reason = answer.get("FailureReason") or "no reason given"
            raise DeployError(f"endpoint {endpoint_name!r} is {status}, not InService: {reason}")
        time.sleep(poll_seconds)
