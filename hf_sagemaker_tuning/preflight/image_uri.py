"""A training image override (``training.image_uri``) of the wrong kind: not ECR, another region, a serving image.

Sources: Amazon ECR's repository URI form, ``<account>.dkr.ecr.<region>.<dns suffix>/<repository>:<tag>`` (or
``@sha256:<digest>``; ECR User Guide, "Private repository concepts"); SageMaker pulls a training image from ECR
in the job's own region (CreateTrainingJob ``AlgorithmSpecification.TrainingImage``: "the registry path of the
Docker image", an ECR path unless ``TrainingImageConfig`` names a VPC registry, which this library never sets).
The kinds of image follow the repository names of the sagemaker SDK's image table
(``sagemaker/core/image_uri_config/*.json``) and the AWS Deep Learning Container tag convention
(``<framework version>-<cpu|gpu>-<python>[-cu<cuda>]...``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ..specs._errors import shorten
from .aws_names import dns_suffix

_ECR = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.(?P<domain>amazonaws\.com(?:\.cn)?|[a-z0-9.-]+)"
    r"/(?P<repository>[a-z0-9][a-z0-9._/-]*)(?::(?P<tag>[\w][\w.-]{0,127})|@sha256:[0-9a-f]{64})$"
)
#: Repositories (last path part) that hold serving images: the SDK table's inference, TGI, TEI, vLLM, SGLang,
#: llama.cpp, DJL, Triton, Neo and TensorFlow Serving repositories. A training job cannot run them.
_SERVING = re.compile(
    r"(inference|serving|tgi|^tei(-cpu)?$|vllm|sglang|llama-?cpp|tritonserver|^djl|-neo$|^sagemaker-neo-)"
)
#: Repositories that train with TensorFlow, not PyTorch (the bundled package needs PyTorch).
_TENSORFLOW = re.compile(r"tensorflow")
Processor = Literal["cpu", "gpu", "neuron"]


@dataclass(frozen=True)
class EcrImage:
    """The parts of an ECR image URI."""

    account: str
    region: str
    domain: str
    repository: str
    tag: str | None

    @property
    def built_for(self) -> Processor | None:
        """The processor the image is built for, from its repository and tag (``None`` when they don't say)."""
        if "neuron" in self.repository or (self.tag and "neuron" in self.tag):
            return "neuron"
        if not self.tag:
            return None
        parts = set(re.split(r"[-_]", self.tag))
        if "gpu" in parts or any(re.fullmatch(r"cu\d+", p) for p in parts):
            return "gpu"
        if "cpu" in parts:
            return "cpu"
        return None


def parse_ecr(uri: str) -> EcrImage | None:
    """The parts of an ECR image URI, or ``None`` when ``uri`` is not one."""
    match = _ECR.match(uri)
    if match is None:
        return None
    return EcrImage(match["account"], match["region"], match["domain"], match["repository"], match["tag"])


def image_uri_problems(uri: str, *, region: str | None, processor: Processor | None, bundled: bool) -> list[str]:
    """Each way ``uri`` cannot serve as this job's training image (every one an error).

    Args:
        uri: ``training.image_uri``.
        region: The job's region (``None``: no SageMaker section, so no region to compare).
        processor: What the instance type is (``None``: unknown).
        bundled: Whether the job runs the bundled training package (which needs a PyTorch training image).
    """
    image = parse_ecr(uri)
    if image is None:
        return [
            f"{shorten(uri)} is not an Amazon ECR image URI "
            "(<12-digit account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>); SageMaker training pulls "
            "its image from ECR"
        ]
    out: list[str] = []
    repository = image.repository.rsplit("/", 1)[-1]
    if _SERVING.search(repository):
        out.append(
            f"repository {shorten(repository)} holds serving (inference) images; a training job needs a "
            "training image such as huggingface-pytorch-training"
        )
    elif bundled and _TENSORFLOW.search(repository):
        out.append(
            f"repository {shorten(repository)} is a TensorFlow image; the bundled training package needs PyTorch"
        )
    if region is not None:
        if image.region != region:
            out.append(
                f"the image is in region {image.region}, the job runs in {region}: SageMaker pulls training "
                f"images from ECR in the job's region (use the {region} registry)"
            )
        expected = dns_suffix(image.region)
        if image.domain != expected:
            out.append(f"ECR in {image.region} lives under {expected}, not {shorten(image.domain)}")
    built_for = image.built_for
    if processor is not None and built_for is not None and built_for != processor:
        out.append(
            f"the image {shorten(repository + ':' + (image.tag or ''))} is built for {built_for.upper()}; "
            f"the instance type is a {processor.upper()} instance"
        )
    return out
