"""The generated metric regexes read the training package's numbers whole (golden strings + behaviour)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from hf_sagemaker_tuning import contract
from hf_sagemaker_tuning.specs.objective import capture_group_pattern, check_metric_regex

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "metric-regexes.json"


def test_generated_regexes_match_the_golden_strings() -> None:
    generated = {name: contract.metric_regex(name) for name in contract.declared_metrics()}
    assert json.loads(GOLDEN.read_text(encoding="utf-8")) == generated


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("1e-05", 1e-05),
        ("-0.3", -0.3),
        ("12.5", 12.5),
        ("3", 3.0),
        ("0.6311", 0.6311),
        ("2.5E+03", 2500.0),
        (".5", 0.5),
        ("-7", -7.0),
        ("1.0000000000000002", 1.0000000000000002),
        ("6.02e23", 6.02e23),
    ],
)
def test_numbers_are_read_whole(printed: str, expected: float) -> None:
    line = f"hfst_metric epoch=2 step=570 eval_loss={printed} eval_macro_f1=0.7012"
    match = re.search(contract.metric_regex("eval_loss"), line)
    assert match is not None
    assert match.group(1) == printed
    assert float(match.group(1)) == expected


@pytest.mark.parametrize("printed", ["nan", "inf", "-inf"])
def test_non_finite_values_are_read_as_such_not_as_a_neighbouring_number(printed: str) -> None:
    line = f"hfst_metric epoch=1 step=10 eval_loss={printed} eval_accuracy=0.5"
    match = re.search(contract.metric_regex("eval_loss"), line)
    assert match is not None and match.group(1) == printed
    assert not math.isfinite(float(match.group(1)))


def test_the_classic_regex_truncates_and_ours_does_not() -> None:
    line = "hfst_metric epoch=1 step=10 train_loss=1e-05"
    assert re.search(r"train_loss=([0-9\.]+)", line).group(1) == "1"  # type: ignore[union-attr]
    assert re.search(contract.metric_regex("train_loss"), line).group(1) == "1e-05"  # type: ignore[union-attr]


def test_key_must_be_whole_and_line_must_be_tagged() -> None:
    regex = contract.metric_regex("eval_loss")
    assert re.search(regex, "hfst_metric epoch=1 train_eval_loss=0.5") is None
    assert re.search(regex, "INFO eval_loss=0.5") is None
    assert re.search(regex, "hfst_metrics eval_loss=0.5") is None
    assert re.search(regex, "[1,mpirank:0] hfst_metric epoch=1 eval_loss=0.25").group(1) == "0.25"  # type: ignore[union-attr]


def test_format_metric_line_is_read_back_by_every_regex() -> None:
    values = {name: float(i) / 7 for i, name in enumerate(contract.declared_metrics())}
    line = contract.format_metric_line(values)
    for name, value in values.items():
        assert float(re.search(contract.metric_regex(name), line).group(1)) == value  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("regex", "group"),
    [
        (r"a=([0-9\.]+)", r"[0-9\.]+"),
        (r"(?:x|y)=(\d+(?:\.\d+)?)", r"\d+(?:\.\d+)?"),
        (r"a=(?P<v>[-\d.]+)", r"[-\d.]+"),
        (r"[(]a[)]=([0-9]+)", "[0-9]+"),
        (r"\(a\)=(\d)", r"\d"),
    ],
)
def test_capture_group_pattern(regex: str, group: str) -> None:
    assert capture_group_pattern(regex) == group


def test_check_metric_regex_accepts_a_good_custom_regex() -> None:
    regex = r"val_f1: ([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"
    assert check_metric_regex(regex) == regex
