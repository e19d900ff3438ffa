"""The pre-flight's training-stack rules mirror what torch, transformers and the training package really do.

Each rule of ``hf_sagemaker_tuning.preflight.training_stack`` names the check it copies; here the real check
runs on the boundary values, so a rule that stops matching the stack fails a test instead of drifting.
"""

from __future__ import annotations

import pytest
import torch
from hfst_train.errors import HyperparameterError
from hfst_train.metrics import format_line, load_metric_declarations
from hfst_train.optim import SCHEDULERS, resolve_precision

from hf_sagemaker_tuning import contract
from hf_sagemaker_tuning.preflight.objective_checks import sample_metric_line
from hf_sagemaker_tuning.preflight.training_stack import BOUNDS, SCHEDULER_TYPES

RULES = {rule.name: rule for rule in BOUNDS}


def _adamw(**options: float | tuple[float, float]) -> None:
    torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "refused", "build"),
    [
        ("learning_rate", -1e-5, lambda v: _adamw(lr=v)),
        ("adam_beta1", 1.0, lambda v: _adamw(betas=(v, 0.999))),
        ("adam_beta1", -0.1, lambda v: _adamw(betas=(v, 0.999))),
        ("adam_beta2", 1.0, lambda v: _adamw(betas=(0.9, v))),
        ("adam_epsilon", -1e-8, lambda v: _adamw(eps=v)),
        ("weight_decay", -0.1, lambda v: _adamw(weight_decay=v)),
        (
            "sgd_momentum",
            -0.1,
            lambda v: torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=v),
        ),
        (
            "label_smoothing",
            1.5,
            lambda v: torch.nn.functional.cross_entropy(torch.zeros(1, 2), torch.tensor([0]), label_smoothing=v),
        ),
    ],
)
def test_what_torch_refuses_the_rule_refuses(name: str, refused: float, build: object) -> None:
    assert RULES[name].refuses(refused)
    with pytest.raises((ValueError, RuntimeError)):  # cross_entropy raises RuntimeError
        build(refused)  # type: ignore[operator]


def test_the_values_torch_accepts_but_the_rules_refuse_are_the_ones_that_waste_a_trial() -> None:
    # lr 0 and eps 0 pass torch's checks; lr 0 never moves a weight, eps 0 makes 0/0 for a zero gradient
    weight = torch.nn.Parameter(torch.ones(1))
    optimizer = torch.optim.AdamW([weight], lr=0.0, weight_decay=0.0)
    weight.grad = torch.ones(1)
    optimizer.step()
    assert weight.item() == 1.0 and RULES["learning_rate"].refuses(0.0)
    weight = torch.nn.Parameter(torch.ones(1))
    optimizer = torch.optim.AdamW([weight], lr=1e-3, eps=0.0, weight_decay=0.0, foreach=False)
    weight.grad = torch.zeros(1)
    optimizer.step()
    assert torch.isnan(weight).all() and RULES["adam_epsilon"].refuses(0.0)


def test_the_training_package_refuses_the_precision_the_preflight_refuses() -> None:
    with pytest.raises(HyperparameterError, match="bf16"):
        resolve_precision("bf16", torch.device("cuda"), bf16_supported=False)
    with pytest.raises(HyperparameterError, match="CUDA GPU"):
        resolve_precision("fp16", torch.device("cpu"))


def test_scheduler_names_are_transformers_scheduler_types() -> None:
    from transformers.trainer_utils import SchedulerType

    installed = {member.value for member in SchedulerType}
    assert set(SCHEDULER_TYPES) <= installed
    assert set(SCHEDULERS) <= set(SCHEDULER_TYPES)


def test_the_sample_line_is_the_line_the_package_prints() -> None:
    # the objective-regex check tries regexes on sample_metric_line(); it must be what train.py prints
    prefix, declared = load_metric_declarations()
    line = sample_metric_line()
    values = {key: float(text) if "." in text else int(text) for key, text in (p.split("=") for p in line.split()[1:])}
    assert format_line(prefix, declared, values) == line
    assert set(values) == set(contract.declared_metrics())


def test_the_polynomial_schedule_refuses_a_learning_rate_at_its_lr_end() -> None:
    from transformers.optimization import get_polynomial_decay_schedule_with_warmup

    (rule,) = [r for r in BOUNDS if r.when == ("lr_scheduler_type", ("polynomial",))]
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1e-8)
    assert rule.refuses(1e-8) and not rule.refuses(1e-6)
    with pytest.raises(ValueError, match="lr_end"):
        get_polynomial_decay_schedule_with_warmup(optimizer, 0, 10)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_the_gpu_table_agrees_with_the_gpu_here() -> None:
    from hf_sagemaker_tuning.preflight.gpus import GPU_BY_FAMILY

    name = torch.cuda.get_device_name()
    models = sorted({gpu.model for gpu in GPU_BY_FAMILY.values()}, key=len, reverse=True)
    model = next((m for m in models if m.removeprefix("NVIDIA ") in name), None)
    if model is None:
        pytest.skip(f"{name} is not in the table")
    gpu = next(g for g in GPU_BY_FAMILY.values() if g.model == model)
    assert torch.cuda.get_device_capability() == gpu.compute_capability
    assert torch.cuda.is_bf16_supported() is gpu.bf16
    version = torch.version.cuda
    assert gpu.min_cuda is not None and version is not None
    assert tuple(int(p) for p in version.split(".")[:2]) >= gpu.min_cuda
