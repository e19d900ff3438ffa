"""``warmup_steps`` at or above a run's total steps: the trial only warms up (the bundled training package).

The step plan is the package's own (``hfst_train.optim.plan_steps``): ``max_steps`` when > 0, else
``ceil(epochs x ceil(ceil(examples / batch) / accumulation))``; warm-up is capped at the total, so every
``warmup_steps`` at or above it trains the same run of rising learning rate. The total is known when
``max_steps`` is set or when the number of training examples is (``--train-examples``,
``dataset.max_train_samples`` or the prepared data's manifest).
"""

from __future__ import annotations

import math

from ..specs.job import TuningJobSpec
from ._findings import Findings
from ._reach import extreme, reach
from .cost import known_train_examples


def _total_steps(spec: TuningJobSpec, given_examples: int | None, *, shortest: bool) -> tuple[int, str] | None:
    """The fewest (``shortest``) or most optimizer steps a trial can run, with how that figure is made."""
    max_steps = reach(spec, "max_steps")
    if max_steps is not None:
        low, high = max_steps.lowest(), max_steps.highest()
        chosen = low if shortest else high
        if chosen is not None and chosen > 0 and low is not None and low > 0:
            return int(chosen), f"max_steps {chosen:g}"
    examples, from_where = known_train_examples(spec, given_examples)
    if examples is None:
        return None
    cap = extreme(spec, "train_max_samples", 0, high=not shortest)
    if cap > 0:
        examples = min(examples, int(cap))
    # the schedule spans the planned run (Hyperband may stop a trial earlier, but does not change its plan)
    epochs = extreme(spec, "epochs", 3.0, high=not shortest)
    batch = int(extreme(spec, "per_device_train_batch_size", 32, high=shortest))
    accumulation = int(extreme(spec, "gradient_accumulation_steps", 1, high=shortest))
    per_epoch = math.ceil(math.ceil(examples / batch) / accumulation)
    total = math.ceil(epochs * per_epoch)
    accumulated = f" / accumulation {accumulation}" if accumulation > 1 else ""
    how = (
        f"{epochs:g} epochs x {per_epoch:,} steps per epoch = ceil({examples:,} examples / batch {batch}{accumulated}),"
        f" examples from {from_where}"
    )
    return total, how


def check_warmup(spec: TuningJobSpec, findings: Findings, given_examples: int | None = None) -> None:
    """Warn when some ``warmup_steps`` value is at or above the total steps of a trial."""
    if not spec.training.uses_bundled_package:
        return
    warmup = reach(spec, "warmup_steps")
    if warmup is None:
        return
    highest, lowest = warmup.highest(), warmup.lowest()
    shortest = _total_steps(spec, given_examples, shortest=True)
    if highest is None or lowest is None or shortest is None or highest < shortest[0]:
        return
    total, how = shortest
    longest = _total_steps(spec, given_examples, shortest=False)
    if lowest >= (longest or shortest)[0]:
        if warmup.interval is not None or len(warmup.values) > 1:
            effect = (
                f"every warmup_steps value ({warmup.describe()}) warms up the whole run: the search over it "
                "changes nothing"
            )
        else:
            effect = f"warmup_steps {lowest:g} warms up the whole run: the learning rate never leaves warm-up"
    else:
        effect = (
            f"warmup_steps values of {total:,} and above (up to {highest:g}) mean a run that is only warm-up; "
            f"narrow the range to at most {max(total - 1, 0):,}"
        )
    findings.add(warmup.where, f"a trial runs {total:,} optimizer steps ({how}), so {effect}", "warning")
