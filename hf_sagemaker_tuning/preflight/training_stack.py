"""Values torch and transformers refuse (or silently waste) at run time, found before a trial starts.

Each rule names the check it mirrors. A rule holds for the static value and for every value a tuned range can
produce (ranges are inclusive, so an endpoint counts). With the bundled training package the names mean what
``training/hyperparameters.json`` says, so a broken rule is an error; with your own entry point the same names
usually go to ``transformers.TrainingArguments``, so a broken rule is a warning.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import contract
from ..specs.job import TuningJobSpec
from ..specs.search_space import IntegerParameter
from ._findings import Findings, Severity
from ._reach import Reach, reach, texts_of

#: transformers' ``SchedulerType`` values (transformers/trainer_utils.py, 4.56; the default image's version).
#: Mirrored as data so the check needs no transformers here; a test compares it with the installed enum.
SCHEDULER_TYPES = (
    "linear",
    "cosine",
    "cosine_with_restarts",
    "polynomial",
    "constant",
    "constant_with_warmup",
    "inverse_sqrt",
    "reduce_lr_on_plateau",
    "cosine_with_min_lr",
    "cosine_warmup_with_min_lr",
    "warmup_stable_decay",
)
#: The optimizers of the bundled package that read Adam's betas and epsilon (hfst_train.optim.build_optimizer).
_ADAM = ("optimizer", ("adamw", "adam"))
#: Float hyperparameters whose whole numbers are the usual search (fractions are allowed, not needed).
INTEGRAL_FLOATS = frozenset({"epochs"})


@dataclass(frozen=True)
class Bound:
    """A rule on one numeric hyperparameter: ``low < x`` or ``low <= x``, and ``x < high`` or ``x <= high``.

    Attributes:
        name: The hyperparameter.
        low, high: The bounds (``None``: unbounded).
        low_open, high_open: Whether the bound itself is refused.
        source: The check it mirrors and what happens otherwise.
        when: ``(hyperparameter, values)``: the rule holds only when some trial can run with one of these
            values (the optimizers that read Adam's betas, the schedule that needs ``lr_end``); ``None``: always.
    """

    name: str
    source: str
    low: float | None = None
    low_open: bool = False
    high: float | None = None
    high_open: bool = False
    when: tuple[str, tuple[str, ...]] | None = None

    @property
    def allowed(self) -> str:
        if self.low is not None and self.high is not None:
            return f"in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"
        if self.low is not None:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        return f"{'<' if self.high_open else '<='} {self.high:g}"

    def refuses(self, value: float) -> bool:
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return True
        return self.high is not None and (value > self.high or (self.high_open and value == self.high))


BOUNDS = (
    Bound(
        "learning_rate",
        "torch.optim refuses lr < 0 ('Invalid learning rate'); lr 0 never moves a weight, so every trial "
        "scores the untrained model",
        low=0,
        low_open=True,
    ),
    Bound(
        "learning_rate",
        "transformers get_polynomial_decay_schedule_with_warmup: 'lr_end (1e-07) must be smaller than initial lr'",
        low=1e-7,
        low_open=True,
        when=("lr_scheduler_type", ("polynomial",)),
    ),
    Bound(
        "adam_beta1",
        "torch.optim.Adam/AdamW: `if not 0.0 <= betas[0] < 1.0: raise ValueError('Invalid beta parameter at index 0')`",
        low=0,
        high=1,
        high_open=True,
        when=_ADAM,
    ),
    Bound(
        "adam_beta2",
        "torch.optim.Adam/AdamW: `if not 0.0 <= betas[1] < 1.0: raise ValueError('Invalid beta parameter at index 1')`",
        low=0,
        high=1,
        high_open=True,
        when=_ADAM,
    ),
    Bound(
        "adam_epsilon",
        "torch.optim.Adam/AdamW refuse eps < 0 ('Invalid epsilon value'); eps 0 divides 0 by 0 (NaN) for a "
        "weight whose gradient is zero",
        low=0,
        low_open=True,
        when=_ADAM,
    ),
    Bound(
        "weight_decay",
        "torch.optim: `if not 0.0 <= weight_decay: raise ValueError('Invalid weight_decay value')`",
        low=0,
    ),
    Bound(
        "sgd_momentum",
        "torch.optim.SGD refuses momentum < 0 ('Invalid momentum value'); momentum 1 never lets the velocity "
        "decay, so the steps grow without bound",
        low=0,
        high=1,
        high_open=True,
        when=("optimizer", ("sgd",)),
    ),
    Bound(
        "warmup_ratio",
        "transformers.TrainingArguments: 'warmup_ratio must lie in range [0,1]'",
        low=0,
        high=1,
    ),
    Bound(
        "label_smoothing",
        "torch cross_entropy refuses label_smoothing outside [0, 1]; 1 makes every target uniform, so there is "
        "nothing to learn",
        low=0,
        high=1,
        high_open=True,
    ),
    Bound(
        "label_smoothing_factor",
        "transformers LabelSmoother / torch cross_entropy: 1 makes every target uniform",
        low=0,
        high=1,
        high_open=True,
    ),
    Bound("per_device_train_batch_size", "torch DataLoader: 'batch_size should be a positive integer value'", low=1),
    Bound("per_device_eval_batch_size", "torch DataLoader: 'batch_size should be a positive integer value'", low=1),
    Bound(
        "gradient_accumulation_steps",
        "at least one micro-batch per optimizer step (transformers Trainer divides by it)",
        low=1,
    ),
)


def refused_values(found: Reach, rule: Bound) -> list[float]:
    """The values of ``found`` that ``rule`` refuses (for a range: the refused endpoints)."""
    if found.interval is not None:
        return [end for end in found.interval if rule.refuses(end)]
    return [number for number in found.numbers() if rule.refuses(number)]


def _applies(spec: TuningJobSpec, rule: Bound) -> bool:
    """Whether some trial runs with a value of ``rule.when``.

    With your own entry point the optimizer is unknown (assumed to read Adam's settings, as transformers'
    default ``adamw_torch`` does) and the schedule defaults to transformers' ``linear``.
    """
    if rule.when is None:
        return True
    name, values = rule.when
    if spec.training.uses_bundled_package:
        default = str(contract.declared_hyperparameters()[name].default)
    elif name == "lr_scheduler_type":
        default = "linear"
    else:
        return True
    return bool(set(texts_of(spec, name, default)) & set(values))


def check_bounds(spec: TuningJobSpec, findings: Findings) -> None:
    """Every ``BOUNDS`` rule on every value a trial can receive."""
    bundled = spec.training.uses_bundled_package
    severity: Severity = "error" if bundled else "warning"
    for rule in BOUNDS:
        found = reach(spec, rule.name)
        if found is None or not _applies(spec, rule):
            continue  # e.g. no trial runs an optimizer that reads it (pointless_search warns about that)
        bad = refused_values(found, rule)
        if not bad:
            continue
        lead = "" if bundled else "if your script passes it to transformers/torch: "
        message = f"{lead}{found.reaching(*bad)}: {rule.name} must be {rule.allowed} ({rule.source})"
        findings.add(found.where, message, severity)


def check_dropout(spec: TuningJobSpec, findings: Findings) -> None:
    """The bundled package's ``dropout``: -1 keeps the model's own; else ``[0, 1)`` (torch ``nn.Dropout``)."""
    found = reach(spec, "dropout") if spec.training.uses_bundled_package else None
    if found is None:
        return
    high = found.highest()
    if high is not None and high >= 1:
        findings.add(
            found.where,
            f"{found.reaching(high)}: dropout must be in [0, 1) or -1 (torch.nn.Dropout with p=1 "
            "zeroes every activation in training, so the model learns nothing)",
        )
    low = found.lowest()
    if low is not None and low < 0 and (found.interval is not None or any(-1 < n < 0 for n in found.numbers())):
        findings.add(
            found.where,
            f"{found.describe()} holds values in (-1, 0): the training package treats every negative dropout as "
            "-1 (keep the model's own dropout, hfst_train.modeling), so they all train the same; use -1 or [0, 1)",
            "warning",
        )


def check_integer_ranges_of_floats(spec: TuningJobSpec, findings: Findings) -> None:
    """A float hyperparameter tuned with ``kind: integer`` tries whole numbers only (``learning_rate`` 0 or 1)."""
    if not spec.training.uses_bundled_package:
        return
    declared = contract.declared_hyperparameters()
    for name, param in spec.search_space.items():
        decl = declared.get(name)
        if isinstance(param, IntegerParameter) and decl is not None and decl.type == "float":
            if name in INTEGRAL_FLOATS:
                continue
            findings.add(
                f"search_space.{name}",
                f"{name} takes float values (training/hyperparameters.json), but kind: integer tries only the whole "
                f"numbers {param.min} to {param.max}; use kind: continuous",
                "warning",
            )


def check_epochs(spec: TuningJobSpec, findings: Findings) -> None:
    """``epochs`` 0 with ``max_steps`` -1 trains no step (``hfst_train.optim.plan_steps``)."""
    if not spec.training.uses_bundled_package:
        return
    found = reach(spec, "epochs")
    max_steps = reach(spec, "max_steps")
    if found is None or (max_steps is not None and (max_steps.lowest() or 0) > 0):
        return
    low = found.lowest()
    if low is not None and low <= 0:
        findings.add(
            found.where,
            f"{found.reaching(low)}: epochs must be > 0 (with max_steps -1, a trial of epochs 0 trains no step; "
            "hfst_train.optim.plan_steps)",
        )


def check_schedulers(spec: TuningJobSpec, findings: Findings) -> None:
    """``lr_scheduler_type`` must be a transformers ``SchedulerType`` (the bundled package's choices are
    checked against ``hyperparameters.json`` by the spec itself)."""
    found = reach(spec, "lr_scheduler_type")
    if found is None or spec.training.uses_bundled_package or found.interval is not None:
        return
    unknown = [text for text in found.texts() if text not in SCHEDULER_TYPES]
    if unknown:
        findings.add(
            found.where,
            f"if your script passes it to transformers.TrainingArguments: {', '.join(unknown)} is not a "
            f"transformers SchedulerType ({', '.join(SCHEDULER_TYPES)})",
            "warning",
        )


def check_training_stack(spec: TuningJobSpec, findings: Findings) -> None:
    """Every run-time refusal of torch and transformers that the spec already shows (precision: ``precision``)."""
    check_bounds(spec, findings)
    check_dropout(spec, findings)
    check_epochs(spec, findings)
    check_integer_ranges_of_floats(spec, findings)
    check_schedulers(spec, findings)
