"""How much a tuning job can bill, worked out offline before anything is submitted.

Two figures, in instance-hours and GPU-hours (and in money once a price per hour is known):

* the **worst case**: every trial runs to its own limit, ``max_jobs x training.max_runtime_seconds``; when the
  tuning job has its own limit (``tuning.max_runtime_seconds``), at most ``that x max_parallel_jobs``;
* an **expected** figure from the step plan: training examples x epochs (x folds x seeds with
  ``tuning.cross_validation`` and ``tuning.repeats``: each is a whole run inside the trial) / an assumed
  throughput of the instance type, plus a start-up allowance per trial. The throughput is an assumption,
  always shown with the figure.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .. import contract
from ..errors import TuningError
from ..specs.job import TuningJobSpec
from ..specs.search_space import CategoricalParameter
from .gpu_use import idle_gpu_share

#: Assumed training samples/s for one accelerator of each instance family, for a DistilBERT-base-sized model
#: (66M parameters) at 128 tokens, batch 32, mixed precision where the hardware has it. p5e/H200 is measured
#: (1,256/s with ``transformers.Trainer`` defaults, docs/benchmarks.md); the rest are scaled from it by the
#: accelerators' relative training speed. A model twice as large trains about half as fast.
GPU_SAMPLES_PER_SECOND: dict[str, tuple[float, str]] = {
    "g4dn": (250.0, "NVIDIA T4"),
    "g5": (550.0, "NVIDIA A10G"),
    "g6": (450.0, "NVIDIA L4"),
    "g6e": (900.0, "NVIDIA L40S"),
    "p3": (550.0, "NVIDIA V100"),
    "p3dn": (550.0, "NVIDIA V100"),
    "p4d": (1000.0, "NVIDIA A100"),
    "p4de": (1000.0, "NVIDIA A100"),
    "p5": (1200.0, "NVIDIA H100"),
    "p5e": (1250.0, "NVIDIA H200"),
    "p5en": (1250.0, "NVIDIA H200"),
    "trn1": (600.0, "AWS Trainium"),
    "trn1n": (600.0, "AWS Trainium"),
}
#: CPU instances: samples/s per vCPU (measured: MiniLM-L6 at 64 tokens trains ~20/s on 2 cores; DistilBERT-base
#: at 128 tokens costs ~8x more).
CPU_SAMPLES_PER_SECOND_PER_VCPU = 1.25
#: Start-up of each trial (instance, image download, model load) billed on top of training, in seconds.
STARTUP_SECONDS = 180.0
_REFERENCE_LENGTH = 128
_SIZE_VCPUS = {"medium": 1, "large": 2, "xlarge": 4}


class OverBudgetError(TuningError):
    """The worst case of a job exceeds the budget (or a money budget cannot be checked): not submitted."""


def assumed_throughput(instance_type: str, max_length: int = _REFERENCE_LENGTH) -> tuple[float, str] | None:
    """Assumed training samples/s on ``instance_type`` and what the figure stands for; ``None`` when unknown."""
    parts = instance_type.split(".")
    if len(parts) != 3:
        return None
    family, size = parts[1], parts[2]
    scale = _REFERENCE_LENGTH / max_length
    if family in GPU_SAMPLES_PER_SECOND:
        rate, hardware = GPU_SAMPLES_PER_SECOND[family]
        return rate * scale, f"{rate:g} samples/s on one {hardware}"
    if family[:1] in ("m", "c", "r", "t"):
        vcpus = _SIZE_VCPUS.get(size) or (4 * int(size.removesuffix("xlarge")) if size[:-6].isdigit() else None)
        if vcpus is None:
            return None
        rate = CPU_SAMPLES_PER_SECOND_PER_VCPU * vcpus
        return rate * scale, f"{CPU_SAMPLES_PER_SECOND_PER_VCPU:g} samples/s per vCPU x {vcpus} vCPUs"
    return None


@dataclass(frozen=True)
class CostEstimate:
    """What a tuning job can bill: worst case and expected, in instance-hours and (with a price) money.

    Attributes:
        instance_type: The trials' instance type.
        trials: Training jobs the tuner may start (``max_jobs``, or the grid's combinations).
        worst_case_instance_hours: The bound no run can exceed.
        worst_case_bound: What sets it: ``"trials"`` (each trial's limit) or ``"tuning job limit"``.
        expected_instance_hours: The step plan's figure, or ``None`` when it cannot be worked out.
        assumptions: What the expected figure assumes (throughput, examples, epochs, start-up).
        expected_unknown: Why there is no expected figure (empty when there is one).
        price_per_hour: Price of one instance-hour, when known; ``price_source`` says where it came from.
        worst_case_cost / expected_cost: The figures in money (``None`` without a price).
        max_cost / max_instance_hours: The budget, when one is set.
        over_budget: What the worst case exceeds, in words (empty: within budget or no budget).
        budget_unchecked: Why a money budget could not be compared (no price), else empty.
        gpus_per_instance: GPUs of one instance (``None``: CPU, Trainium or not in the GPU table).
        worst_case_gpu_hours: The worst case in GPU-hours (instance-hours x GPUs per instance), when known.
        idle_gpus / trial_gpus: GPUs of one trial left idle (one process per instance) and paid for in all.
        idle_worst_case_instance_hours / idle_worst_case_cost: The idle GPUs' share of the worst case.
    """

    instance_type: str
    instance_count: int
    trials: int
    max_parallel_jobs: int
    worst_case_instance_hours: float
    worst_case_bound: str
    expected_instance_hours: float | None = None
    assumptions: list[str] = field(default_factory=list)
    expected_unknown: str = ""
    currency: str = "USD"
    price_per_hour: float | None = None
    price_source: str | None = None
    worst_case_cost: float | None = None
    expected_cost: float | None = None
    max_cost: float | None = None
    max_instance_hours: float | None = None
    over_budget: list[str] = field(default_factory=list)
    budget_unchecked: str = ""
    gpus_per_instance: int | None = None
    worst_case_gpu_hours: float | None = None
    idle_gpus: int = 0
    trial_gpus: int | None = None
    idle_worst_case_instance_hours: float = 0.0
    idle_worst_case_cost: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        """The estimate in words, one line each (what ``hfst validate`` prints)."""
        money = self.price_per_hour is not None

        def cost(value: float | None) -> str:
            return f" = {value:,.2f} {self.currency}" if money and value is not None else ""

        out = [
            f"cost: worst case {self.worst_case_instance_hours:,.1f} instance-hours of {self.instance_type}"
            f"{cost(self.worst_case_cost)} ({self.trials} trials, bound by the {self.worst_case_bound})"
        ]
        if self.worst_case_gpu_hours is not None:
            per = f"{self.gpus_per_instance} GPU{'s' if self.gpus_per_instance != 1 else ''} per instance"
            out.append(f"cost: worst case {self.worst_case_gpu_hours:,.1f} GPU-hours ({per})")
        if self.idle_gpus:
            out.append(
                f"cost: idle: {self.idle_gpus} of the {self.trial_gpus} GPUs of every trial sit unused "
                f"({self.idle_gpus / (self.trial_gpus or 1):.0%}): {self.idle_worst_case_instance_hours:,.1f} of the "
                f"worst case's instance-hours{cost(self.idle_worst_case_cost)} pay for them "
                "(training.distribution: torch_distributed uses them, or choose a 1-GPU instance)"
            )
        if self.expected_instance_hours is not None:
            out.append(f"cost: expected ~{self.expected_instance_hours:,.1f} instance-hours{cost(self.expected_cost)}")
            out += [f"  assumes {a}" for a in self.assumptions]
        else:
            out.append(f"cost: no expected figure ({self.expected_unknown})")
        if money:
            out.append(f"  price {self.price_per_hour:g} {self.currency}/h ({self.price_source})")
        out += [f"cost: over budget: {problem}" for problem in self.over_budget]
        if self.budget_unchecked:
            out.append(f"cost: budget not checked: {self.budget_unchecked}")
        return out


def _value(spec: TuningJobSpec, name: str) -> tuple[float, str]:
    """A numeric hyperparameter's value for the plan: static, tuned (the middle of its range) or the default."""
    if name in spec.search_space.names():
        param = spec.search_space[name]
        if isinstance(param, CategoricalParameter):
            numbers = [float(v) for v in param.values if not isinstance(v, bool)]
            return (sum(numbers) / len(numbers) if numbers else 0.0), "the mean of its values"
        return (param.min + param.max) / 2, "the middle of its range"
    if name in spec.training.hyperparameters:
        return float(spec.training.hyperparameters[name]), "static"
    return float(contract.declared_hyperparameters()[name].default), "the default"


def known_train_examples(spec: TuningJobSpec, given: int | None) -> tuple[int | None, str]:
    """Training examples per epoch and where the figure comes from: ``given``, ``dataset.max_train_samples``,
    or the prepared data's manifest (``prepared/<name>/manifest.json``); ``(None, "")`` when unknown."""
    if given is not None:
        return given, "as given"
    if spec.dataset.max_train_samples is not None:
        return spec.dataset.max_train_samples, "dataset.max_train_samples"
    manifest = Path("prepared", spec.name, "manifest.json")
    try:
        rows = int(json.loads(manifest.read_text(encoding="utf-8"))["splits"]["train"]["rows"])
    except (OSError, ValueError, KeyError, TypeError):
        return None, ""
    return rows, f"the prepared data ({manifest})"


def _expected_trial_seconds(
    spec: TuningJobSpec, train_examples: int | None, throughput: float | None
) -> tuple[float | None, list[str], str]:
    if not spec.training.uses_bundled_package:
        return None, [], "your own entry point's step plan is unknown"
    examples, from_where = known_train_examples(spec, train_examples)
    if examples is None:
        return (
            None,
            [],
            "the number of training examples is unknown: set dataset.max_train_samples, prepare the data, "
            "or pass --train-examples",
        )
    cap, _ = _value(spec, "train_max_samples")
    if cap > 0:
        examples = min(examples, int(cap))
    chosen = assumed_throughput(spec.training.instance_type, spec.dataset.max_length)
    if throughput is None and chosen is None:
        return None, [], f"no assumed throughput for {spec.training.instance_type}: pass --throughput SAMPLES_PER_S"
    rate, basis = (throughput, "as given") if throughput is not None else chosen  # type: ignore[misc]
    gpus = spec.training.gpus_per_instance
    if throughput is None and spec.training.launch == "torch_distributed" and gpus:
        # Data-parallel over every GPU of the trial; linear scaling is the optimistic case (an assumption).
        trial_gpus = gpus * spec.training.instance_count
        rate, basis = rate * trial_gpus, f"{basis} x {trial_gpus} GPUs with torchrun, assuming linear scaling"
    max_steps, _ = _value(spec, "max_steps")
    if max_steps > 0:
        batch, _ = _value(spec, "per_device_train_batch_size")
        accumulation, _ = _value(spec, "gradient_accumulation_steps")
        samples = max_steps * batch * accumulation
        plan = f"{max_steps:g} steps x {batch * accumulation:g} examples"
    else:
        epochs, how = _value(spec, "epochs")
        if spec.tuning.hyperband is not None:
            epochs, how = (
                (spec.tuning.hyperband.min_resource + spec.tuning.hyperband.max_resource) / 2,
                "Hyperband's middle resource",
            )
        samples = examples * epochs
        plan = f"{examples:,} training examples ({from_where}) x {epochs:g} epochs ({how})"
    runs = spec.tuning.runs_per_trial
    if runs > 1:  # every fold and seed is a whole training run inside the trial
        samples *= runs
        cv = spec.tuning.cross_validation
        plan += f" x {runs} runs per trial (" + (
            f"{cv.folds} folds x {spec.tuning.repeats} seed(s); each fold counted as the whole training split)"
            if cv is not None
            else f"{spec.tuning.repeats} seeds)"
        )
    notes = [
        plan,
        f"{rate:,.0f} training samples/s on {spec.training.instance_type} ({basis}, at max_length "
        f"{spec.dataset.max_length}; an assumption, not a measurement of your model)",
        f"{STARTUP_SECONDS:g} s of start-up per trial; evaluation time not counted",
    ]
    seconds = min(samples / rate + STARTUP_SECONDS, float(spec.training.max_runtime_seconds))
    return seconds, notes, ""


def estimate_cost(
    spec: TuningJobSpec,
    *,
    price_per_hour: float | None = None,
    price_source: str | None = None,
    max_cost: float | None = None,
    max_instance_hours: float | None = None,
    train_examples: int | None = None,
    throughput: float | None = None,
    price_options: Sequence[str] = (),
) -> CostEstimate:
    """Bound what the tuning job can bill, offline.

    Args:
        spec: The job spec.
        price_per_hour: Price of one instance-hour (default: ``budget.price_per_hour`` of the spec, if any).
        price_source: Where that price came from, for the report.
        max_cost: Money budget for the worst case (default: ``budget.max_cost``).
        max_instance_hours: Instance-hour budget for the worst case (default: ``budget.max_instance_hours``).
        train_examples: Training examples per epoch, when known (default: ``dataset.max_train_samples`` or the
            prepared data's manifest in ``./prepared/<name>``).
        throughput: Training samples/s of one instance, instead of the assumed table.
        price_options: Where the caller takes a price from (e.g. ``"--price-per-hour"``), named when a
            money budget has no price, so a message names only options of the command that shows it;
            the spec's ``budget.price_per_hour`` is always named.
    """
    budget = spec.budget
    if price_per_hour is None and budget is not None and budget.price_per_hour is not None:
        price_per_hour, price_source = budget.price_per_hour, "budget.price_per_hour"
    max_cost = max_cost if max_cost is not None else (budget.max_cost if budget else None)
    if max_instance_hours is None and budget is not None:
        max_instance_hours = budget.max_instance_hours
    tuning, training = spec.tuning, spec.training
    trials = tuning.max_jobs or spec.search_space.grid_size()
    count = training.instance_count
    by_trials = trials * training.max_runtime_seconds * count / 3600
    worst, bound = by_trials, "trials' own limits"
    if tuning.max_runtime_seconds is not None:
        by_job = tuning.max_runtime_seconds * tuning.max_parallel_jobs * count / 3600
        if by_job < by_trials:
            worst, bound = by_job, "tuning job's time limit"
    seconds, assumptions, unknown = _expected_trial_seconds(spec, train_examples, throughput)
    gpus = training.gpus_per_instance or None
    idle = idle_gpu_share(spec)
    idle_gpus, trial_gpus = idle if idle is not None else (0, None if gpus is None else gpus * count)
    idle_hours = worst * idle_gpus / trial_gpus if idle_gpus and trial_gpus else 0.0
    expected = None
    if seconds is not None:
        expected = min(trials * seconds * count / 3600, worst)
    over: list[str] = []
    unchecked = ""
    worst_cost = None if price_per_hour is None else worst * price_per_hour
    currency = budget.currency if budget else "USD"
    if max_cost is not None:
        if worst_cost is None:
            sources = [*price_options, "budget.price_per_hour"]
            where = ", ".join(sources[:-1]) + f" or {sources[-1]}" if len(sources) > 1 else sources[0]
            unchecked = f"a budget of {max_cost:,.2f} {currency} needs a price per hour ({where})"
        elif worst_cost > max_cost:
            over.append(f"worst case {worst_cost:,.2f} {currency} > max_cost {max_cost:,.2f} {currency}")
    if max_instance_hours is not None and worst > max_instance_hours:
        over.append(f"worst case {worst:,.1f} instance-hours > max_instance_hours {max_instance_hours:,.1f}")
    return CostEstimate(
        instance_type=training.instance_type,
        instance_count=count,
        trials=trials,
        max_parallel_jobs=tuning.max_parallel_jobs,
        worst_case_instance_hours=worst,
        worst_case_bound=bound,
        expected_instance_hours=expected,
        assumptions=assumptions,
        expected_unknown=unknown,
        currency=currency,
        price_per_hour=price_per_hour,
        price_source=(price_source or "as given") if price_per_hour is not None else None,
        worst_case_cost=worst_cost,
        expected_cost=None if price_per_hour is None or expected is None else expected * price_per_hour,
        max_cost=max_cost,
        max_instance_hours=max_instance_hours,
        over_budget=over,
        budget_unchecked=unchecked,
        gpus_per_instance=gpus,
        worst_case_gpu_hours=None if gpus is None else worst * gpus,
        idle_gpus=idle_gpus,
        trial_gpus=trial_gpus,
        idle_worst_case_instance_hours=idle_hours,
        idle_worst_case_cost=None if price_per_hour is None else idle_hours * price_per_hour,
    )


def check_budget(estimate: CostEstimate, *, allow_over_budget: bool = False) -> list[str]:
    """Refuse a job whose worst case breaks its budget; return the lines to show when it goes ahead.

    Raises:
        OverBudgetError: over budget (or a money budget without a price) and ``allow_over_budget`` is false.
    """
    problems = [*estimate.over_budget, *([estimate.budget_unchecked] if estimate.budget_unchecked else [])]
    if problems and not allow_over_budget:
        raise OverBudgetError(
            "not submitted: " + "; ".join(problems) + " (raise the budget, lower max_jobs or the trials' "
            "max_runtime_seconds, or go ahead with --allow-over-budget / allow_over_budget=True)"
        )
    return [f"going ahead over budget: {problem}" for problem in problems]
