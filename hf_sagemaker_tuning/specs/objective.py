"""What the tuner optimises: a metric the training package prints, or a custom one with its regex."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from ._base import Spec
from ._errors import shorten

MAX_REGEX_LENGTH = 500
#: Numbers a metric regex must read whole; ``([0-9\.]+)`` reads ``1e-05`` as ``1`` and drops the sign of ``-0.3``.
NUMBER_PROBES = ("1e-05", "-0.3", "12.5", "3")
_METRIC_NAME = re.compile(r"^.{1,255}$")

Direction = Literal["maximize", "minimize"]


def capture_group_pattern(regex: str) -> str | None:
    """The source text of the first capturing group of ``regex``.

    Written by hand because neither ``re`` nor a maintained library exposes a
    group's sub-pattern; it walks the pattern once, honouring escapes and
    character classes, and skips ``(?...)`` groups (only ``(?P<name>...)`` captures).
    """
    depth = 0
    start: int | None = None
    start_depth = 0
    in_class = False
    i = 0
    while i < len(regex):
        ch = regex[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
        elif ch == "[":
            in_class = True
            if regex[i + 1 : i + 2] == "]":
                i += 1
        elif ch == "(":
            depth += 1
            if start is None:
                if regex.startswith("(?P<", i):
                    start = regex.index(">", i) + 1
                    start_depth = depth
                elif not regex.startswith("(?", i):
                    start = i + 1
                    start_depth = depth
        elif ch == ")":
            if start is not None and depth == start_depth:
                return regex[start:i]
            depth -= 1
        i += 1
    return None


def check_metric_regex(regex: str) -> str:
    """Validate a metric regex as SageMaker and this library need it; return it unchanged.

    Rules: at most 500 characters, compiles, exactly one capture group, and that
    group reads ``1e-05``, ``-0.3``, ``12.5`` and ``3`` whole.
    """
    if len(regex) > MAX_REGEX_LENGTH:
        raise ValueError(f"regex is {len(regex)} characters long; SageMaker allows at most {MAX_REGEX_LENGTH}")
    try:
        compiled = re.compile(regex)
    except re.error as exc:
        raise ValueError(f"regex {shorten(regex)} does not compile: {exc}") from None
    if compiled.groups != 1:
        raise ValueError(f"regex {shorten(regex)} must have exactly one capture group, it has {compiled.groups}")
    group = capture_group_pattern(regex)
    if group is not None:
        misread = [probe for probe in NUMBER_PROBES if not re.fullmatch(group, probe)]
        if misread:
            raise ValueError(
                f"the capture group ({group}) of regex {shorten(regex)} does not read {', '.join(misread)} whole; "
                r"use a number pattern such as ([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"
            )
    return regex


class MetricDefinitionSpec(Spec):
    """An extra metric to record (e.g. from a custom entry point)."""

    name: str = Field(min_length=1, max_length=255)
    regex: str = Field(min_length=1)

    @field_validator("regex")
    @classmethod
    def _regex(cls, value: str) -> str:
        return check_metric_regex(value)


class ObjectiveSpec(Spec):
    """The objective metric and its direction.

    For a metric the bundled training package prints (``eval_macro_f1``,
    ``eval_accuracy``, ``eval_loss``, ...) leave ``regex`` out: it is generated from
    the package's metric line. ``direction`` defaults to the metric's natural one.
    """

    metric: str = Field(min_length=1, max_length=255, description="Objective metric name.")
    direction: Direction | None = Field(None, description="maximize or minimize; default: the metric's natural one.")
    direction_override: bool = Field(
        False,
        description="true: `direction` deliberately contradicts the direction the training package declares for "
        "the metric (otherwise that is an error: the tuner would pick the worst model).",
    )
    regex: str | None = Field(None, description="Only for a custom metric: a regex with one capture group.")
    extra_metrics: list[MetricDefinitionSpec] = Field(
        default_factory=list, description="More metrics to record (custom entry points)."
    )

    @field_validator("regex")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        return None if value is None else check_metric_regex(value)

    @model_validator(mode="after")
    def _custom_needs_direction(self) -> ObjectiveSpec:
        if self.regex is not None and self.direction is None:
            raise ValueError("a custom metric (one with a regex) needs direction: maximize or minimize")
        names = [m.name for m in self.extra_metrics]
        if len(set(names)) != len(names) or self.metric in names:
            raise ValueError("extra_metrics names must be unique and differ from the objective metric")
        if self.direction_override and self.direction is None:
            raise ValueError("direction_override needs an explicit direction (maximize or minimize)")
        return self
