"""Objective and AMT settings that can never work, knowable offline.

* A custom ``objective.regex`` (or ``extra_metrics`` regex) with the bundled training package must match the
  line the package prints (``training/metrics.json``: ``hfst_metric key=value ...``); it is tried on a line
  made by ``contract.format_metric_line``, the package's own format. Otherwise AMT never reads a value and
  every trial fails with "no objective metric".
* ``tuning.completion.target_objective_value`` outside what the metric can reach never stops the job.
* ``tuning.completion.max_jobs_not_improving`` at or above ``max_jobs`` never triggers.
* Hyperband's ``max_resource`` above the evaluations a trial prints: Hyperband counts a trial's resource in
  reported objective values (one per epoch with the bundled package's default ``eval_steps`` 0), so a trial
  ends before the larger brackets are ever reached.
"""

from __future__ import annotations

import math
import re

from .. import contract
from ..specs.job import TuningJobSpec
from ._findings import Findings
from ._reach import reach

#: What each metric the bundled package prints can reach: accuracy, F1 and recall (scikit-learn's
#: definitions) lie in [0, 1] (hfst_train.metrics.classification_metrics), cross-entropy is >= 0.
METRIC_RANGE: dict[str, tuple[float | None, float | None]] = {
    "eval_loss": (0.0, None),
    "train_loss": (0.0, None),
    "eval_accuracy": (0.0, 1.0),
    "eval_macro_f1": (0.0, 1.0),
    "eval_macro_recall": (0.0, 1.0),
    "eval_weighted_f1": (0.0, 1.0),
    "eval_official": (0.0, 1.0),
}


def sample_metric_line() -> str:
    """A metric line as the bundled package prints it: epoch and step first, then every declared metric."""
    values: dict[str, float | int] = {"epoch": 2.0, "step": 570}
    for index, name in enumerate(contract.declared_metrics()):
        values.setdefault(name, round(0.5 + index / 100, 4))
    return contract.format_metric_line(values)


def _captured_key(regex: str, line: str) -> tuple[bool, str | None]:
    """Whether ``regex`` matches ``line``, and the ``key`` whose value its group captured."""
    match = re.search(regex, line)
    if match is None:
        return False, None
    start = match.start(1)
    if start < 0:
        return True, None
    key = re.search(r"(\S+)=$", line[:start])
    return True, key.group(1) if key else None


def check_regex_against_package(spec: TuningJobSpec, findings: Findings) -> None:
    """Custom regexes with the bundled package must read a value from the line the package prints."""
    if not spec.training.uses_bundled_package:
        return
    line = sample_metric_line()
    names = ", ".join(m for m in contract.declared_metrics() if m.startswith("eval_"))
    objective = spec.objective
    if objective.regex is not None:
        matched, key = _captured_key(objective.regex, line)
        if not matched:
            findings.add(
                "objective.regex",
                f"the bundled training package never prints a line this regex matches; its lines look like "
                f"{line!r} (training/metrics.json). Leave regex out and set metric to one of {names}",
            )
        elif key is not None and objective.metric in contract.declared_metrics() and key != objective.metric:
            findings.add(
                "objective.regex",
                f"objective.metric is {objective.metric}, but the regex reads the value of {key} from the "
                "package's metric line",
                "warning",
            )
    for index, extra in enumerate(objective.extra_metrics):
        if not _captured_key(extra.regex, line)[0]:
            findings.add(
                f"objective.extra_metrics[{index}].regex",
                f"the bundled training package never prints a line this regex matches ({line!r}): "
                f"{extra.name} would never be recorded",
                "warning",
            )


def check_completion(spec: TuningJobSpec, findings: Findings) -> None:
    """Completion criteria that can never fire."""
    completion = spec.tuning.completion
    if completion is None:
        return
    target = completion.target_objective_value
    reach = METRIC_RANGE.get(spec.objective.metric) if spec.training.uses_bundled_package else None
    if target is not None and reach is not None:
        low, high = reach
        direction = spec.direction
        if direction == "maximize" and high is not None and target > high:
            findings.add(
                "tuning.completion.target_objective_value",
                f"{target:g} is above {high:g}, the most {spec.objective.metric} can reach: the job never stops "
                f"on it (scores are fractions, e.g. 0.9 for 90%)",
                "warning",
            )
        if direction == "minimize" and low is not None and target < low:
            findings.add(
                "tuning.completion.target_objective_value",
                f"{target:g} is below {low:g}, the least {spec.objective.metric} can reach: the job never stops on it",
                "warning",
            )
    not_improving, max_jobs = completion.max_jobs_not_improving, spec.tuning.max_jobs
    if not_improving is not None and max_jobs is not None and not_improving >= max_jobs:
        findings.add(
            "tuning.completion.max_jobs_not_improving",
            f"{not_improving} is not below max_jobs ({max_jobs}): the job ends before it could apply",
            "warning",
        )


def check_hyperband(spec: TuningJobSpec, findings: Findings) -> None:
    """Hyperband's ``max_resource`` (in reported evaluations) above what a bundled-package trial reports."""
    hyperband = spec.tuning.hyperband
    if hyperband is None or not spec.training.uses_bundled_package:
        return
    eval_steps, max_steps, epochs = reach(spec, "eval_steps"), reach(spec, "max_steps"), reach(spec, "epochs")
    if eval_steps is not None or max_steps is not None or (epochs is not None and epochs.interval is not None):
        return  # evaluations every N steps or a step budget: the count depends on the data size
    default = float(contract.declared_hyperparameters()["epochs"].default)
    planned = epochs.highest() if epochs is not None else default
    if planned is None or planned <= 0:
        return
    evaluations = math.ceil(planned)
    if hyperband.max_resource > evaluations:
        findings.add(
            "tuning.hyperband.max_resource",
            f"{hyperband.max_resource} is above the {evaluations} evaluations a trial reports "
            f"(epochs {planned:g}, one evaluation per epoch): every trial ends before "
            f"Hyperband's larger brackets; set epochs to at least {hyperband.max_resource}",
            "warning",
        )
