"""Experiment tracking (the ``tracking:`` section): where MLflow runs go, and TensorBoard event files.

The tracking URI is one of three kinds (``tracking_uri_kind``):

* ``path``: a folder on this machine (``./mlruns``); it holds an SQLite store (``mlflow.db``)
  and the artifacts (``artifacts/``), because MLflow 3 refuses its old file store;
* ``http``: an MLflow tracking server (``http://host:5000``, ``https://...``);
* ``arn``: a SageMaker managed MLflow tracking server
  (``arn:aws:sagemaker:REGION:ACCOUNT:mlflow-tracking-server/NAME``), reached through the
  ``sagemaker-mlflow`` plugin, which signs requests with the caller's AWS credentials.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from ._base import Spec
from ._errors import shorten

__all__ = ["MlflowSpec", "TrackingSpec", "local_store_uri", "tracking_uri_kind"]

#: A SageMaker MLflow tracking server (or MLflow App) ARN; group 1 is its region.
TRACKING_ARN = re.compile(
    r"^arn:aws[a-z\-]*:sagemaker:([a-z]{2}(?:-[a-z]+)+-\d):\d{12}:(?:mlflow-tracking-server|mlflow-app)/[A-Za-z0-9\-]{1,256}$"
)
#: A registered model's name: MLflow allows most characters; keep to ones every store and URL takes.
_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,255}$")


def tracking_uri_kind(uri: str) -> Literal["path", "http", "arn"]:
    """Which of the three kinds ``uri`` is (see the module docstring).

    Raises:
        ValueError: none of them, or an ``http(s)`` URI with a user name or password in it.
    """
    if uri.startswith("arn:"):
        if not TRACKING_ARN.match(uri):
            raise ValueError(
                f"{shorten(uri)} is not a SageMaker MLflow tracking-server ARN "
                "(arn:aws:sagemaker:REGION:ACCOUNT:mlflow-tracking-server/NAME)"
            )
        return "arn"
    if uri.startswith(("http://", "https://")):
        parts = urlsplit(uri)
        if not parts.hostname:
            raise ValueError(f"{shorten(uri)} names no host")
        if parts.username or parts.password:
            # The URI travels into job records (the container's environment): credentials must not.
            raise ValueError(
                "put no user name or password in the tracking URI; set MLFLOW_TRACKING_USERNAME and "
                "MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN) in the environment instead"
            )
        return "http"
    if "://" in uri or uri.startswith(("s3:", "file:", "sqlite:", "databricks")):
        raise ValueError(
            f"{shorten(uri)}: give a local folder (./mlruns), an http(s):// MLflow server, "
            "or a SageMaker MLflow tracking-server ARN"
        )
    if not uri.strip():
        raise ValueError("the tracking URI is empty")
    return "path"


def local_store_uri(folder: str | Path) -> tuple[str, str]:
    """The MLflow store URI and artifact root of a local tracking folder (``path`` kind), made absolute."""
    root = Path(folder).expanduser().resolve()
    return f"sqlite:///{root / 'mlflow.db'}", (root / "artifacts").as_uri()


class MlflowSpec(Spec):
    """Where MLflow runs go."""

    tracking_uri: str = Field(
        description="A local folder (./mlruns), an http(s):// MLflow server, or a SageMaker MLflow "
        "tracking-server ARN (arn:aws:sagemaker:REGION:ACCOUNT:mlflow-tracking-server/NAME)."
    )
    experiment: str | None = Field(None, description="MLflow experiment name (default: the job spec's name).")
    register_model_as: str | None = Field(
        None,
        description="Register the job's model (newest retrain, else best trial) under this name in the Model Registry.",
    )

    @field_validator("tracking_uri")
    @classmethod
    def _uri(cls, value: str) -> str:
        tracking_uri_kind(value)
        return value

    @field_validator("register_model_as")
    @classmethod
    def _model_name(cls, value: str | None) -> str | None:
        if value is not None and not _MODEL_NAME.match(value):
            raise ValueError(f"{shorten(value)} is not a model name: letters, digits, '_', '.', '-' (at most 256)")
        return value

    @property
    def kind(self) -> Literal["path", "http", "arn"]:
        """``path``, ``http`` or ``arn``."""
        return tracking_uri_kind(self.tracking_uri)

    @property
    def region(self) -> str | None:
        """The AWS region of an ARN tracking server (``None`` for the other kinds)."""
        match = TRACKING_ARN.match(self.tracking_uri)
        return match.group(1) if match else None


class TrackingSpec(Spec):
    """Experiment tracking: MLflow runs for the job, its trials, retrains and test scores; TensorBoard files."""

    mlflow: MlflowSpec | None = Field(None, description="Log to MLflow (parent run per job, one child per trial).")
    tensorboard: bool = Field(
        False, description="Trials write TensorBoard event files (locally under each trial's folder)."
    )
