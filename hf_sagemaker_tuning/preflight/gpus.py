"""The accelerator each SageMaker instance family carries, as data: what precision a trial's hardware supports.

Sources: the AWS instance type pages (https://aws.amazon.com/ec2/instance-types/ and the SageMaker pricing
page name the GPU of each family) and NVIDIA's CUDA GPU list (https://developer.nvidia.com/cuda-gpus) for
compute capabilities. ``torch.cuda.is_bf16_supported()`` is true from compute capability 8.0 (Ampere) on,
which is what the bundled package's ``precision`` check asks at run time (``hfst_train.optim.resolve_precision``).

The table is keyed by family (``g5`` of ``ml.g5.xlarge``) and meant to grow: add a row, or add fields to
``Gpu`` (a count or memory per size) with defaults, and every caller keeps working. A family missing here is
unknown, never guessed: the checks that need it say nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType

#: bf16 autocast needs compute capability >= 8.0 (torch.cuda.is_bf16_supported: Ampere or newer).
BF16_MIN_COMPUTE_CAPABILITY = (8, 0)
#: Compute capability -> the first CUDA release that compiles for it (NVIDIA CUDA Toolkit release notes: 9.0
#: Volta, 10.0 Turing, 11.0 A100, 11.1 GA10x, 11.8 Ada and Hopper, 12.8 Blackwell). A PyTorch built with an
#: older CUDA has no kernels for the GPU ("no kernel image is available for execution on the device").
MIN_CUDA_BY_COMPUTE_CAPABILITY: MappingProxyType[tuple[int, int], tuple[int, int]] = MappingProxyType(
    {
        (7, 0): (9, 0),
        (7, 5): (10, 0),
        (8, 0): (11, 0),
        (8, 6): (11, 1),
        (8, 9): (11, 8),
        (9, 0): (11, 8),
        (10, 0): (12, 8),
    }
)


@dataclass(frozen=True)
class Gpu:
    """One accelerator model.

    Attributes:
        model: The accelerator's name (``NVIDIA A10G``).
        compute_capability: CUDA compute capability ``(major, minor)``.
    """

    model: str
    compute_capability: tuple[int, int]

    @property
    def bf16(self) -> bool:
        """Whether bf16 runs natively (what ``torch.cuda.is_bf16_supported()`` reports on it)."""
        return self.compute_capability >= BF16_MIN_COMPUTE_CAPABILITY

    @property
    def min_cuda(self) -> tuple[int, int] | None:
        """The oldest CUDA that builds kernels for this GPU (``None``: not in the table)."""
        return MIN_CUDA_BY_COMPUTE_CAPABILITY.get(self.compute_capability)


_V100 = Gpu("NVIDIA V100", (7, 0))
_A100 = Gpu("NVIDIA A100", (8, 0))
_H200 = Gpu("NVIDIA H200", (9, 0))
#: Instance family -> its GPU (SageMaker training families; AWS instance type pages).
GPU_BY_FAMILY: MappingProxyType[str, Gpu] = MappingProxyType(
    {
        "p2": Gpu("NVIDIA K80", (3, 7)),
        "p3": _V100,
        "p3dn": _V100,
        "g4dn": Gpu("NVIDIA T4", (7, 5)),
        "g5": Gpu("NVIDIA A10G", (8, 6)),
        "g6": Gpu("NVIDIA L4", (8, 9)),
        "gr6": Gpu("NVIDIA L4", (8, 9)),
        "g6e": Gpu("NVIDIA L40S", (8, 9)),
        "p4d": _A100,
        "p4de": _A100,
        "p5": Gpu("NVIDIA H100", (9, 0)),
        "p5e": _H200,
        "p5en": _H200,
        "p6-b200": Gpu("NVIDIA B200", (10, 0)),
        "p6e-gb200": Gpu("NVIDIA GB200", (10, 0)),
    }
)


#: CPU families whose processors run bf16 natively (Intel AMX-BF16: 4th-gen Xeon "Sapphire Rapids" in the 7i
#: families, Xeon 6 in the 8i families; AWS instance type pages). On other CPUs torch emulates bf16 autocast,
#: slower than fp32.
NATIVE_BF16_CPU_FAMILIES = frozenset(
    {"c7i", "c7i-flex", "m7i", "m7i-flex", "r7i", "c8i", "c8i-flex", "m8i", "m8i-flex", "r8i", "r8i-flex"}
)


def instance_family(instance_type: str) -> str:
    """``g5`` for ``ml.g5.xlarge`` (the part between the ``ml.`` prefix and the size)."""
    parts = instance_type.split(".")
    return parts[1] if len(parts) == 3 else instance_type


def gpu_for(instance_type: str) -> Gpu | None:
    """The GPU of ``instance_type``; ``None`` for CPU, Trainium and families not in the table."""
    return GPU_BY_FAMILY.get(instance_family(instance_type))


def cuda_version(text: str) -> tuple[int, int] | None:
    """The CUDA version a Deep Learning Container tag names (``cu121`` -> ``(12, 1)``), or ``None``."""
    match = re.search(r"(?:^|[-_])cu(\d+)(\d)(?:[-_]|$)", text)
    return (int(match[1]), int(match[2])) if match else None


def cuda_problem(cuda: tuple[int, int], instance_type: str) -> str | None:
    """Why an image built with ``cuda`` lacks kernels for ``instance_type``'s GPU, or ``None``."""
    gpu = gpu_for(instance_type)
    need = gpu.min_cuda if gpu else None
    if gpu is None or need is None or cuda >= need:
        return None
    cc = ".".join(map(str, gpu.compute_capability))
    return (
        f"the image is built with CUDA {cuda[0]}.{cuda[1]}; {instance_type}'s {gpu.model} (compute capability "
        f"{cc}) needs CUDA >= {need[0]}.{need[1]}, so its PyTorch has no kernels for it (trials fail with 'no "
        "kernel image is available'): choose a newer image"
    )


def cpu_has_native_bf16(instance_type: str) -> bool:
    """Whether a CPU instance's processor runs bf16 natively (AMX-BF16)."""
    return instance_family(instance_type) in NATIVE_BF16_CPU_FAMILIES


@dataclass(frozen=True)
class InstanceGpus:
    """The GPUs of one instance type.

    Attributes:
        gpu: The GPU model (``Gpu``).
        count: GPUs per instance.
        memory_gb: Memory of one GPU, in GB as AWS lists it.
    """

    gpu: Gpu
    count: int
    memory_gb: float

    def describe(self) -> str:
        """``8 × NVIDIA A100 40 GB``."""
        return f"{self.count} × {self.gpu.model} {self.memory_gb:g} GB"


def _sizes(gpu: Gpu, memory_gb: float, counts: dict[str, int]) -> dict[str, InstanceGpus]:
    return {size: InstanceGpus(gpu, count, memory_gb) for size, count in counts.items()}


_G_SIZES = {"xlarge": 1, "2xlarge": 1, "4xlarge": 1, "8xlarge": 1, "16xlarge": 1, "12xlarge": 4, "24xlarge": 4}
#: Instance type -> its GPUs: count and memory per GPU. Source: the AWS EC2 accelerated-computing instance
#: pages (https://aws.amazon.com/ec2/instance-types/#Accelerated_Computing, and each family's page, e.g.
#: https://aws.amazon.com/ec2/instance-types/p4/) and the SageMaker pricing page
#: (https://aws.amazon.com/sagemaker/pricing/), which list "GPUs" and "GPU memory" per size. Counts agree with
#: sagemaker-core's ``image_uri_config/instance_gpu_info.json`` where that file has a row (a test checks).
#: Every GPU type botocore's ``TrainingInstanceType`` lists has a row or is in ``UNKNOWN_GPU_INSTANCE_TYPES``
#: (another test checks), so a new botocore with a new GPU type fails the tests until it is added here.
GPUS_BY_INSTANCE_TYPE: MappingProxyType[str, InstanceGpus] = MappingProxyType(
    {
        f"ml.{family}.{size}": spec
        for family, sizes in {
            "p2": _sizes(GPU_BY_FAMILY["p2"], 12, {"xlarge": 1, "8xlarge": 8, "16xlarge": 16}),
            "p3": _sizes(_V100, 16, {"2xlarge": 1, "8xlarge": 4, "16xlarge": 8}),
            "p3dn": _sizes(_V100, 32, {"24xlarge": 8}),
            "g4dn": _sizes(
                GPU_BY_FAMILY["g4dn"],
                16,
                {**dict.fromkeys(("xlarge", "2xlarge", "4xlarge", "8xlarge", "16xlarge"), 1), "12xlarge": 4},
            ),
            "g5": _sizes(GPU_BY_FAMILY["g5"], 24, {**_G_SIZES, "48xlarge": 8}),
            "g6": _sizes(GPU_BY_FAMILY["g6"], 24, {**_G_SIZES, "48xlarge": 8}),
            "g6e": _sizes(GPU_BY_FAMILY["g6e"], 48, {**_G_SIZES, "48xlarge": 8}),
            "p4d": _sizes(_A100, 40, {"24xlarge": 8}),
            "p4de": _sizes(_A100, 80, {"24xlarge": 8}),
            "p5": _sizes(GPU_BY_FAMILY["p5"], 80, {"4xlarge": 1, "48xlarge": 8}),
            "p5e": _sizes(_H200, 141, {"48xlarge": 8}),
            "p5en": _sizes(_H200, 141, {"48xlarge": 8}),
            "p6-b200": _sizes(GPU_BY_FAMILY["p6-b200"], 180, {"48xlarge": 8}),
            "p6e-gb200": _sizes(GPU_BY_FAMILY["p6e-gb200"], 185, {"36xlarge": 4}),
        }.items()
        for size, spec in sizes.items()
    }
)
#: GPU instance types botocore lists whose GPUs could not be confirmed offline (no row rather than a guess):
#: the checks that need a GPU count or memory say nothing for them.
UNKNOWN_GPU_INSTANCE_TYPES = frozenset(
    {
        *(f"ml.g7.{size}" for size in ("2xlarge", "4xlarge", "8xlarge", "12xlarge", "24xlarge", "48xlarge")),
        *(f"ml.g7e.{size}" for size in ("2xlarge", "4xlarge", "8xlarge", "12xlarge", "24xlarge", "48xlarge")),
        "ml.p6-b300.48xlarge",
    }
)


def gpus_of(instance_type: str) -> InstanceGpus | None:
    """The GPUs of ``instance_type`` (count, memory); ``None`` for CPU, Trainium and unknown types."""
    return GPUS_BY_INSTANCE_TYPE.get(instance_type)
