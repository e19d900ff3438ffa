"""SageMaker endpoints: the best training job's model behind a real endpoint (boto3 + ModelBuilder)."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, overload

from .. import images
from ..backends.base import ModelArtifact
from ..errors import TuningError, translate_client_error
from . import _registry
from ._errors import DeployError
from ._predictor import JSON_TYPE, Label, Predictor
from ._registry import EndpointRecord

log = logging.getLogger("hf_sagemaker_tuning.deploy")
DEFAULT_INSTANCE_TYPE = "ml.m5.xlarge"
#: The container's environment: the task (for the toolkit's defaults) and our handler in code/.
SERVING_ENV = {"HF_TASK": "text-classification", "SAGEMAKER_PROGRAM": "inference.py"}
ROLE_PATTERN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/\S+$")
_TRANSFORMERS_IN_IMAGE = re.compile(r"transformers(\d+(?:\.\d+)*)")


@dataclass(frozen=True)
class ImageSelection:
    """The inference image chosen for a model, and why."""

    uri: str
    transformers_version: str
    pytorch_version: str
    reason: str


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def transformers_version_of(image_uri: str | None) -> str | None:
    """The transformers version in a Hugging Face image tag (``...-transformers4.56.2-gpu...``)."""
    match = _TRANSFORMERS_IN_IMAGE.search(image_uri or "")
    return match.group(1) if match else None


def choose_inference_image(trained_version: str | None, region: str, instance_type: str) -> ImageSelection:
    """The newest inference image whose transformers is <= the trained one, same major version; else the newest.

    Loading a checkpoint with an older minor release of the same major version is what the
    Hugging Face images are built for; a different major version (4.x vs 5.x) may not read it.
    """
    versions = sorted(images.available_versions("inference"), key=_version)
    newest = versions[-1]
    chosen, reason = newest, "the training image's transformers version is unknown; using the newest image"
    if trained_version:
        trained = _version(trained_version)
        same_major = [v for v in versions if _version(v)[0] == trained[0] and _version(v) <= trained]
        if same_major:
            chosen = same_major[-1]
            reason = f"newest inference image with transformers <= {trained_version} (same major version)"
        else:
            reason = f"no inference image with transformers {trained[0]}.x <= {trained_version}; using the newest"
    choice = images.resolve("inference", chosen)
    try:
        uri = choice.uri(region, instance_type)
    except ValueError as exc:
        raise DeployError(str(exc)) from None
    return ImageSelection(uri, choice.transformers_version, choice.pytorch_version, reason)


def _client_error_type() -> type[Exception]:
    from botocore.exceptions import ClientError

    return ClientError  # type: ignore[no-any-return]


def _not_found(exc: Exception) -> bool:
    error = (getattr(exc, "response", None) or {}).get("Error", {})
    return error.get("Code") in ("ValidationException", "ResourceNotFound") and "not find" in str(error.get("Message"))


def _session(boto_session: Any, region: str | None) -> Any:
    if boto_session is not None:
        return boto_session
    import boto3

    return boto3.Session(region_name=region)


def deploy_sagemaker(
    tuning_job_name: str | None = None,
    training_job_name: str | None = None,
    *,
    role: str,
    region: str,
    instance_type: str = DEFAULT_INSTANCE_TYPE,
    endpoint_name: str | None = None,
    boto_session: Any = None,
) -> SageMakerEndpoint:
    """Deploy the best model of a SageMaker tuning job (or one training job) to a SageMaker endpoint.

    The model artifact is served by the Hugging Face inference image that matches the trained
    transformers version (see ``choose_inference_image``) with ``code/inference.py`` from the
    artifact as the handler. The endpoint bills by the hour until ``undeploy()``.

    Args:
        tuning_job_name: the tuning job whose best model is deployed (``Backend.best_model``: the
            newest completed retrain, else the best training job).
        training_job_name: deploy this training job instead (exactly one of the two).
        role: the execution role ARN SageMaker assumes to pull the image and the model.
        region: the AWS region of the jobs and the endpoint.
        instance_type: the endpoint's instance type.
        endpoint_name: default ``hfst-<training job>``; also the model's and endpoint config's name.
        boto_session: a ``boto3.Session`` to use (default: a new one for ``region``).

    Raises:
        DeployError: bad arguments, no best job yet, or the name is already registered.
        AwsError: an AWS call failed (code, message and request id kept).
    """
    if (tuning_job_name is None) == (training_job_name is None):
        raise DeployError("pass exactly one of tuning_job_name and training_job_name")
    if not ROLE_PATTERN.fullmatch(role or ""):
        raise DeployError(f"role must be an IAM role ARN like arn:aws:iam::123456789012:role/NAME, not {role!r}")
    if not region:
        raise DeployError("region is required (e.g. us-east-1)")
    from ..preflight.service_model import endpoint_instance_problem

    problem = endpoint_instance_problem(instance_type)
    if problem is not None:
        raise DeployError(f"instance_type: {problem}")
    from ..backends import open_backend

    session = _session(boto_session, region)
    backend = open_backend("sagemaker", region=region, boto_session=session)
    if tuning_job_name is not None:
        best = backend.best_model(tuning_job_name)
    else:
        best = backend.trial_artifact(None, str(training_job_name))
    name = _registry.check_name(endpoint_name or _registry.name_from(f"hfst-{best.training_job_name}"))
    if _registry.find(name) is not None:
        raise DeployError(f"an endpoint named {name!r} is already registered; undeploy it or pick another name")
    image = choose_inference_image(transformers_version_of(best.training_image), region, instance_type)
    log.info("deploying %s with %s (%s)", best.location, image.uri, image.reason)

    from ._sagemaker import deploy_model

    try:
        deploy_model(
            image_uri=image.uri,
            model_data_url=best.location,
            role_arn=role,
            instance_type=instance_type,
            endpoint_name=name,
            env_vars=SERVING_ENV,
            boto_session=session,
        )
    except Exception as exc:
        endpoint = SageMakerEndpoint(name, region, boto_session=session)
        try:
            endpoint.delete_resources()  # never leave a half-made, billed endpoint behind
        except TuningError as cleanup:
            log.warning("cleanup after the failed deploy also failed: %s", cleanup)
        if isinstance(exc, _client_error_type()):
            raise translate_client_error(exc) from None
        if isinstance(exc, TuningError):
            raise
        raise DeployError(f"deploying {name!r} failed: {type(exc).__name__}: {exc}") from exc
    record = EndpointRecord(
        name=name,
        kind="sagemaker",
        model=best.location,
        started_at=_registry.now_iso(),
        region=region,
        image_uri=image.uri,
    )
    _registry.save(record)
    return SageMakerEndpoint(name, region, boto_session=session, image=image, best=best)


class SageMakerPredictor(Predictor):
    """Calls a SageMaker endpoint through ``sagemaker-runtime`` InvokeEndpoint (JSON in and out)."""

    kind = "sagemaker"

    @classmethod
    def from_record(cls, record: EndpointRecord) -> Predictor:
        return cls(record.name, region=record.region)

    def __init__(self, endpoint_name: str, region: str | None = None, boto_session: Any = None):
        self.name = endpoint_name
        self.region = region
        self._session = boto_session

    def __repr__(self) -> str:
        return f"SageMakerPredictor({self.name!r}, region={self.region!r})"

    def _invoke(self, body: bytes) -> bytes:
        runtime = _session(self._session, self.region).client("sagemaker-runtime", region_name=self.region)
        try:
            response = runtime.invoke_endpoint(
                EndpointName=self.name, Body=body, ContentType=JSON_TYPE, Accept=JSON_TYPE
            )
        except _client_error_type() as exc:
            raise translate_client_error(exc) from None
        data: bytes = response["Body"].read()
        return data


class SageMakerEndpoint:
    """A SageMaker endpoint made by ``deploy_sagemaker``: a predictor and a context manager that undeploys."""

    def __init__(
        self,
        name: str,
        region: str,
        boto_session: Any = None,
        image: ImageSelection | None = None,
        best: ModelArtifact | None = None,
    ):
        self.name = name
        self.region = region
        self.image = image
        self.best = best
        self._session = boto_session

    @classmethod
    def from_name(cls, name: str, boto_session: Any = None) -> SageMakerEndpoint:
        """The registered SageMaker endpoint called ``name``."""
        record = _registry.load(name)
        if record.kind != "sagemaker" or not record.region:
            raise DeployError(f"{name!r} is a {record.kind} endpoint, not a SageMaker one")
        return cls(record.name, record.region, boto_session=boto_session)

    def __repr__(self) -> str:
        return f"SageMakerEndpoint(name={self.name!r}, region={self.region!r})"

    def predictor(self) -> SageMakerPredictor:
        return SageMakerPredictor(self.name, self.region, boto_session=self._session)

    @overload
    def predict(self, inputs: str, top_k: int | None = None) -> list[Label]: ...

    @overload
    def predict(self, inputs: list[str] | tuple[str, ...], top_k: int | None = None) -> list[list[Label]]: ...

    @overload
    def predict(self, inputs: Mapping[str, Any], top_k: int | None = None) -> list[Label] | list[list[Label]]: ...

    def predict(
        self, inputs: str | Sequence[str] | Mapping[str, Any], top_k: int | None = None
    ) -> list[Label] | list[list[Label]]:
        """Shortcut for ``self.predictor().predict(...)`` (a text, a list, or ``{"inputs", "parameters"}``)."""
        return self.predictor().predict(inputs, top_k)  # type: ignore[arg-type]

    def delete_resources(self) -> list[str]:
        """Delete the endpoint, its endpoint config and its models (whichever exist); return what was deleted."""
        client = _session(self._session, self.region).client("sagemaker", region_name=self.region)
        client_error = _client_error_type()
        deleted: list[str] = []

        def attempt(kind: str, call: Any, **kwargs: str) -> dict[str, Any] | None:
            try:
                result: dict[str, Any] = call(**kwargs)
                return result
            except client_error as exc:
                if _not_found(exc):
                    return None
                raise translate_client_error(exc) from None

        endpoint = attempt("endpoint", client.describe_endpoint, EndpointName=self.name)
        config_name = (endpoint or {}).get("EndpointConfigName", self.name)
        config = attempt("config", client.describe_endpoint_config, EndpointConfigName=config_name)
        models = [v["ModelName"] for v in (config or {}).get("ProductionVariants", []) if v.get("ModelName")]
        if endpoint is not None and attempt("endpoint", client.delete_endpoint, EndpointName=self.name) is not None:
            deleted.append(f"endpoint {self.name}")
        if config is not None and attempt("config", client.delete_endpoint_config, EndpointConfigName=config_name):
            deleted.append(f"endpoint config {config_name}")
        for model in models or [self.name]:
            if attempt("model", client.delete_model, ModelName=model) is not None:
                deleted.append(f"model {model}")
        return deleted

    def undeploy(self) -> list[str]:
        """Delete the endpoint, endpoint config and model (billing stops), and forget the endpoint."""
        deleted = self.delete_resources()
        _registry.remove(self.name)
        return deleted

    def __enter__(self) -> SageMakerEndpoint:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.undeploy()
