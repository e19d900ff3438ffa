"""How each trial trains: the model, the container versions, the compute and static hyperparameters."""

from __future__ import annotations

import os
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from .. import images
from ._base import Spec, SpecFieldError
from ._errors import shorten
from ._hub import model_reference_problem
from .search_space import HYPERPARAMETER_NAME

_S3_URI = re.compile(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$")
#: Names and values that look like credentials must never reach a hyperparameter, a log or a job folder.
_SECRET_NAME = re.compile(r"(secret|password|passwd|token|credential|api[_-]?key|access[_-]?key)", re.IGNORECASE)
_SECRET_VALUE = re.compile(r"(^|[^A-Z0-9])(AKIA|ASIA)[A-Z0-9]{16}([^A-Z0-9]|$)|^hf_[A-Za-z0-9]{30,}$")
MAX_STATIC_VALUE_LENGTH = 2500
MAX_RUNTIME_LIMIT = 28 * 24 * 3600

HyperparameterValue = str | int | float | bool
MINIMUMS_FILE = "requirements-min.json"  # in the bundled training package


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def bundled_package_minimums() -> dict[str, str]:
    """The oldest ``transformers`` and ``torch`` the bundled training package runs on (``requirements-min.json``)."""
    import json

    from ..contract import training_package_dir

    raw = json.loads((training_package_dir() / MINIMUMS_FILE).read_text(encoding="utf-8"))
    return {name: str(raw[name]) for name in ("transformers", "torch")}


def image_too_old(transformers_version: str, pytorch_version: str) -> tuple[str, str] | None:
    """``(field, message)`` when a training image's software is older than the bundled package needs, else None."""
    minimums = bundled_package_minimums()
    for field, name, have in (
        ("transformers_version", "transformers", transformers_version),
        ("pytorch_version", "torch", pytorch_version),
    ):
        if _version(have) < _version(minimums[name]):
            return field, (
                f"the bundled training package needs {name} >= {minimums[name]}; the image for transformers "
                f"{transformers_version} ships {name} {have} (choose a newer image, e.g. the default 4.56.2, "
                "or bring your own entry_point)"
            )
    return None


def hyperparameter_text(value: HyperparameterValue) -> str:
    """The string SageMaker carries for a hyperparameter value (bools as true/false)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def reject_secrets(where: str, mapping: dict[str, str]) -> None:
    """Raise ``ValueError`` if a key or value in ``mapping`` looks like a credential."""
    for key, value in mapping.items():
        if _SECRET_NAME.search(key):
            raise ValueError(
                f"{where} {shorten(key)} looks like a credential; credentials must not travel as {where}s "
                "(use an IAM role, or AWS Secrets Manager from the training code)"
            )
        if _SECRET_VALUE.search(value):
            raise ValueError(
                f"the value of {where} {shorten(key)} looks like an access key or token; refusing to send it"
            )


class TrainingSpec(Spec):
    """The training job every trial runs."""

    model: str = Field(
        min_length=1,
        description="Hub model id, local folder (a str or os.PathLike) or package://dist/path; sent as "
        "model_name_or_path.",
    )
    transformers_version: str = Field("4.56.2", description="Hugging Face training image: transformers version.")
    pytorch_version: str | None = Field("2.8.0", description="PyTorch version of that image (None: newest).")
    python_version: str | None = Field("py312", description="Python version tag of that image (None: newest).")
    instance_type: str = Field("ml.g5.xlarge", description="SageMaker instance type for each trial.")
    instance_count: int = Field(
        1, ge=1, description="Instances per trial (more than one needs distribution: torch_distributed)."
    )
    distribution: Literal["auto", "none", "torch_distributed"] = Field(
        "auto",
        description="How a trial uses several GPUs or instances: torch_distributed (torchrun, data-parallel over "
        "every GPU of every instance), none (one process per instance), auto (torch_distributed for the bundled "
        "package when the trial has more than one GPU or instance, else none).",
    )
    volume_size_gb: int = Field(30, ge=1, le=16384, description="EBS volume per trial, GB.")
    max_runtime_seconds: int = Field(
        86400, ge=1, le=MAX_RUNTIME_LIMIT, description="Per-trial time limit (SageMaker stops the trial)."
    )
    use_spot: bool = Field(False, description="Managed spot training (needs max_wait_seconds and checkpoint_s3_uri).")
    max_wait_seconds: int | None = Field(None, ge=1, le=MAX_RUNTIME_LIMIT, description="Spot: time to wait + run.")
    checkpoint_s3_uri: str | None = Field(None, description="Where trial checkpoints sync (spot resume).")
    image_uri: str | None = Field(None, description="Override the training image (skips the version table).")
    entry_point: str | None = Field(
        None, description="Your own entry script (in source_dir) instead of the bundled train.py."
    )
    source_dir: str | None = Field(None, description="Folder holding your entry_point.")
    declared_hyperparameters: list[str] | None = Field(
        None, description="With your own entry_point: the hyperparameters it accepts."
    )
    hyperparameters: dict[str, HyperparameterValue] = Field(
        default_factory=dict, description="Static hyperparameters passed to every trial."
    )

    @field_validator("model", "source_dir", "entry_point", mode="before")
    @classmethod
    def _paths(cls, value: object) -> object:
        return os.fspath(value) if isinstance(value, os.PathLike) else value

    @field_validator("model")
    @classmethod
    def _model(cls, value: str) -> str:
        problem = model_reference_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("instance_type")
    @classmethod
    def _instance_type(cls, value: str) -> str:
        # The list is botocore's SageMaker service model (TrainingInstanceType), never a hand-written one.
        from ..preflight.service_model import training_instance_problem

        problem = training_instance_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("checkpoint_s3_uri")
    @classmethod
    def _checkpoint(cls, value: str | None) -> str | None:
        if value is not None and not _S3_URI.match(value):
            raise ValueError(f"{shorten(value)} is not an S3 URI (s3://bucket/prefix)")
        return value

    @field_validator("hyperparameters")
    @classmethod
    def _static(cls, value: dict[str, HyperparameterValue]) -> dict[str, HyperparameterValue]:
        if len(value) > 100:
            raise ValueError(f"{len(value)} static hyperparameters; SageMaker allows at most 100")
        texts = {}
        for name, item in value.items():
            if not HYPERPARAMETER_NAME.match(name):
                raise ValueError(
                    f"hyperparameter name {shorten(name)} is not allowed: use 1-256 letters, digits or _.:/=+-@"
                )
            if name.startswith("sagemaker_") or name == "_tuning_objective_metric":
                raise ValueError(f"hyperparameter {shorten(name)} is reserved for SageMaker")
            if name == "model_name_or_path":
                raise ValueError("set the model with training.model, not as a hyperparameter")
            text = hyperparameter_text(item)
            if len(text) > MAX_STATIC_VALUE_LENGTH:
                raise ValueError(
                    f"value of {shorten(name)} is {len(text)} characters; at most {MAX_STATIC_VALUE_LENGTH}"
                )
            texts[name] = text
        reject_secrets("hyperparameter", texts)
        return value

    @model_validator(mode="after")
    def _consistency(self) -> TrainingSpec:
        if self.use_spot and (self.max_wait_seconds is None or self.checkpoint_s3_uri is None):
            raise ValueError("use_spot needs max_wait_seconds and checkpoint_s3_uri (spot trials resume from it)")
        if self.max_wait_seconds is not None:
            if not self.use_spot:
                raise ValueError("max_wait_seconds is for spot training only (set use_spot: true)")
            if self.max_wait_seconds < self.max_runtime_seconds:
                raise ValueError(
                    f"max_wait_seconds ({self.max_wait_seconds}) must be >= max_runtime_seconds "
                    f"({self.max_runtime_seconds})"
                )
        if (self.entry_point is None) != (self.source_dir is None):
            raise ValueError("entry_point and source_dir go together (your own training script)")
        if self.instance_count > 1 and self.entry_point is not None and self.distribution == "auto":
            raise SpecFieldError(
                "distribution",
                f"instance_count {self.instance_count} with your own entry_point: say how the instances train "
                "together: distribution: torch_distributed (SageMaker starts your script with torchrun on every "
                "instance) or none (each instance runs it alone, the others idle)",
            )
        if self.entry_point is None and self.declared_hyperparameters is not None:
            raise ValueError("declared_hyperparameters is for your own entry_point; the bundled one declares its own")
        if self.image_uri is None:
            image = images.resolve("training", self.transformers_version, self.pytorch_version, self.python_version)
            too_old = image_too_old(image.transformers_version, image.pytorch_version)
            if too_old is not None and self.entry_point is None:
                raise SpecFieldError(*too_old)
            processor = images.processor_for(self.instance_type)
            if processor not in image.processors:
                raise SpecFieldError(
                    "instance_type",
                    f"the Hugging Face training image for transformers {image.transformers_version} is "
                    f"{'/'.join(image.processors).upper()}-only; instance_type {shorten(self.instance_type)} is a "
                    f"{processor.upper()} instance (use e.g. ml.g5.xlarge)",
                )
        return self

    @property
    def uses_bundled_package(self) -> bool:
        return self.entry_point is None

    @property
    def gpus_per_instance(self) -> int | None:
        """GPUs of one ``instance_type`` (0 on CPU/Trainium instances; ``None`` for a GPU type not in the table)."""
        from ..preflight.gpus import GPU_BY_FAMILY, UNKNOWN_GPU_INSTANCE_TYPES, gpus_of, instance_family

        gpus = gpus_of(self.instance_type)
        if gpus is not None:
            return gpus.count
        unknown = (
            instance_family(self.instance_type) in GPU_BY_FAMILY or self.instance_type in UNKNOWN_GPU_INSTANCE_TYPES
        )
        return None if unknown else 0

    @property
    def launch(self) -> Literal["none", "torch_distributed"]:
        """How a trial starts, ``distribution`` resolved: ``auto`` is ``torch_distributed`` when the bundled
        package runs on more than one GPU (``instance_type``'s GPUs x ``instance_count``) or instance."""
        if self.distribution != "auto":
            return self.distribution
        if not self.uses_bundled_package:
            return "none"
        many = self.instance_count > 1 or (self.gpus_per_instance or 0) > 1
        return "torch_distributed" if many else "none"

    def image(self, region: str) -> str:
        """The training image URI for ``region``."""
        if self.image_uri is not None:
            return self.image_uri
        choice = images.resolve("training", self.transformers_version, self.pytorch_version, self.python_version)
        return choice.uri(region, self.instance_type)
