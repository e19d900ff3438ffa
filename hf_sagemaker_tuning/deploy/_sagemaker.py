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
    builder = ModelBuilder(
        image_uri=image_uri,
        s3_model_data_url=model_data_url,
        role_arn=role_arn,
        instance_type=instance_type,
        env_vars=dict(env_vars),
        sagemaker_session=session,
    )
    builder.build(model_name=endpoint_name)
    builder.deploy(endpoint_name=endpoint_name, initial_instance_count=1)
