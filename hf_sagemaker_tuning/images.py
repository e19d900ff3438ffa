"""The Hugging Face Deep Learning Container table, read offline from the SDK's bundled JSON.

The sagemaker SDK ships ``sagemaker/core/image_uri_config/huggingface.json``. We read
that file directly (no ``import sagemaker``: it costs ~4 s) to validate versions and
to build the image URI exactly as ``sagemaker.core.image_uris.retrieve`` does; a
test compares the two for every entry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

Scope = Literal["training", "inference"]
_CONFIG = "sagemaker/core/image_uri_config/huggingface.json"


@lru_cache(maxsize=1)
def _table() -> dict[str, Any]:
    try:
        file = Path(str(metadata.distribution("sagemaker-core").locate_file(_CONFIG)))
    except metadata.PackageNotFoundError as exc:  # pragma: no cover - base dependency
        raise FileNotFoundError("sagemaker-core is not installed; it carries the image table") from exc
    data: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
    return data


@dataclass(frozen=True)
class ImageChoice:
    """A resolved Hugging Face container: versions, processor and where it lives."""

    scope: Scope
    transformers_version: str
    pytorch_version: str
    python_version: str
    processors: tuple[str, ...]
    registries: dict[str, str]
    repository: str
    container_versions: dict[str, str]

    def uri(self, region: str, instance_type: str) -> str:
        """The ECR image URI for ``region`` and ``instance_type`` (as the SDK builds it)."""
        if region not in self.registries:
            raise ValueError(f"region {region!r} has no {self.scope} image; available: {sorted(self.registries)}")
        processor = processor_for(instance_type)
        if processor not in self.processors:
            raise ValueError(
                f"the {self.scope} image for transformers {self.transformers_version} runs on "
                f"{'/'.join(self.processors).upper()} only; {instance_type!r} is a {processor.upper()} instance"
            )
        domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
        tag = f"{self.pytorch_version}-transformers{self.transformers_version}-{processor}-{self.python_version}"
        if processor in self.container_versions:
            tag += f"-{self.container_versions[processor]}"
        return f"{self.registries[region]}.dkr.ecr.{region}.{domain}/{self.repository}:{tag}"


def processor_for(instance_type: str) -> Literal["cpu", "gpu", "neuron"]:
    """``gpu`` for GPU instance families (p*, g*), ``neuron`` for inf/trn, else ``cpu``."""
    family = instance_type.split(".")[1] if instance_type.count(".") >= 2 else instance_type
    if family.startswith(("p", "g")):
        return "gpu"
    if family.startswith(("inf", "trn")):
        return "neuron"
    return "cpu"


def available_versions(scope: Scope) -> dict[str, list[str]]:
    """transformers version -> the PyTorch versions it ships with, for ``scope``."""
    versions = _table()[scope]["versions"]
    return {
        tv: [key.removeprefix("pytorch") for key in entry if key.startswith("pytorch") and key[7:8].isdigit()]
        for tv, entry in versions.items()
    }


def resolve(
    scope: Scope, transformers_version: str, pytorch_version: str | None = None, python_version: str | None = None
) -> ImageChoice:
    """Find the image for these versions; raise ``ValueError`` naming what is available."""
    config = _table()[scope]
    tv = config.get("version_aliases", {}).get(transformers_version, transformers_version)
    if tv not in config["versions"]:
        raise ValueError(
            f"transformers {transformers_version!r} has no Hugging Face {scope} image; "
            f"available: {', '.join(config['versions'])}"
        )
    entry = config["versions"][tv]
    frameworks = [k for k in entry if k.startswith("pytorch") and k[7:8].isdigit()]
    if pytorch_version is None:
        key = frameworks[-1]
    else:
        key = entry.get("version_aliases", {}).get(f"pytorch{pytorch_version}", f"pytorch{pytorch_version}")
        if key not in entry:
            raise ValueError(
                f"transformers {tv} {scope} images ship PyTorch "
                f"{', '.join(k.removeprefix('pytorch') for k in frameworks)}; not {pytorch_version!r}"
            )
    framework = entry[key]
    py_versions = framework.get("py_versions", [])
    py = python_version or (py_versions[-1] if py_versions else "")
    if py not in py_versions:
        raise ValueError(
            f"transformers {tv} with {key} {scope} images are built for {', '.join(py_versions)}; not {py!r}"
        )
    return ImageChoice(
        scope=scope,
        transformers_version=tv,
        pytorch_version=key.removeprefix("pytorch"),
        python_version=py,
        processors=tuple(framework.get("processors", config.get("processors", ["gpu"]))),
        registries=dict(framework["registries"]),
        repository=framework["repository"],
        container_versions=dict(framework.get("container_version", {})),
    )
