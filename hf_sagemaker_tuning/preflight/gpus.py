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

from dataclasses import dataclass
from types import MappingProxyType

#: bf16 autocast needs compute capability >= 8.0 (torch.cuda.is_bf16_supported: Ampere or newer).
BF16_MIN_COMPUTE_CAPABILITY = (8, 0)


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


def cpu_has_native_bf16(instance_type: str) -> bool:
    """Whether a CPU instance's processor runs bf16 natively (AMX-BF16)."""
    return instance_family(instance_type) in NATIVE_BF16_CPU_FAMILIES
