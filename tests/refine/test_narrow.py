"""``narrow_spec`` on hand-written trials: which values and bounds survive narrowing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hf_sagemaker_tuning.compile import compile_request
from hf_sagemaker_tuning.refine import narrow_spec, top_trials
from hf_sagemaker_tuning.specs import parse_job_spec
from hf_sagemaker_tuning.specs.search_space import CategoricalParameter, ContinuousParameter, IntegerParameter
from hf_sagemaker_tuning.trials import Trial

from ..fakejob import fake_spec


def _trial(hps: dict[str, str], value: float | None, status: str = "Completed", name: str = "") -> Trial:
    return Trial(name=name, status=status, hyperparameters=hps, objective=value, objective_metric="score")


def _space(**params: dict[str, Any]) -> dict[str, Any]:
    return {"search_space": params, "training.declared_hyperparameters": [*params, "epochs", "seed"]}


def test_narrow_keeps_categorical_values_that_no_trial_tried() -> None:
    spec = parse_job_spec(fake_spec(**_space(opt={"kind": "categorical", "values": ["a", "b", "c", "d", True]})))
    trials = [
        _trial({"opt": "c"}, 0.9),
        _trial({"opt": "c"}, 0.8),
        _trial({"opt": "b"}, 0.7),
        _trial({"opt": "a"}, 0.1),
        _trial({"opt": "a"}, 0.2),
    ]
    new = narrow_spec(spec, trials, parent_job="parent", minimum=3)
    opt = new.search_space["opt"]
    assert isinstance(opt, CategoricalParameter)
    assert opt.values == ["b", "c", "d", True]  # "a" was tried and lost; "d" and true were never tried


def test_narrow_drops_a_value_tried_only_by_failed_trials_and_reads_sdk_v2_quotes() -> None:
    spec = parse_job_spec(fake_spec(**_space(opt={"kind": "categorical", "values": ["a", "b", "c"]})))
    trials = [
        _trial({"opt": json.dumps("b")}, 0.9),
        _trial({"opt": json.dumps("b")}, 0.8),
        _trial({"opt": json.dumps("a")}, None, status="Failed"),
    ]
    new = narrow_spec(spec, trials, parent_job="parent")
    assert new.search_space["opt"].values == ["b", "c"]  # type: ignore[union-attr]


def test_narrow_keeps_a_range_no_top_trial_ran_with_and_ignores_values_outside_it() -> None:
    space = _space(
        x={"kind": "continuous", "min": 0.0, "max": 1.0},
        n={"kind": "integer", "min": 1, "max": 64, "scaling": "logarithmic"},
    )
    spec = parse_job_spec(fake_spec(**space))
    trials = [_trial({"x": "0.5", "n": "100"}, 0.9), _trial({"x": "0.6", "n": "nope"}, 0.8)]
    new = narrow_spec(spec, trials, parent_job="parent")
    n = new.search_space["n"]
    assert isinstance(n, IntegerParameter)
    assert (n.min, n.max, n.scaling) == (1, 64, "logarithmic")
    x = new.search_space["x"]
    assert isinstance(x, ContinuousParameter) and 0.4 < x.min < 0.5 and 0.6 < x.max < 0.7


def test_narrow_reverse_logarithmic_ranges_in_their_own_scale() -> None:
    space = _space(beta={"kind": "continuous", "min": 0.9, "max": 0.9999, "scaling": "reverse_logarithmic"})
    spec = parse_job_spec(fake_spec(**space))
    trials = [_trial({"beta": "0.99"}, 0.9), _trial({"beta": "0.999"}, 0.8), _trial({"beta": "0.9"}, 0.1)]
    new = narrow_spec(spec, trials, parent_job="parent", minimum=2)
    beta = new.search_space["beta"]
    assert isinstance(beta, ContinuousParameter)
    assert beta.scaling == "reverse_logarithmic"
    # the span of log(1 - x) is [log 0.001, log 0.01]; 10% of it on each side, mapped back
    assert beta.min == pytest.approx(1 - 0.01 * 10**0.1) and beta.max == pytest.approx(1 - 0.001 / 10**0.1)
    compile_request(new, target="local", job_name="n")


def test_top_trials_uses_the_one_ranking() -> None:
    trials = [
        _trial({}, 0.5, name="first"),
        _trial({}, float("nan"), name="nan"),
        _trial({}, 0.9, status="Stopped", name="stopped"),
        _trial({}, 0.5, name="tie"),
        _trial({}, 0.7, name="best"),
        _trial({}, None, status="Failed", name="failed"),
    ]
    assert [t.name for t in top_trials(trials, maximize=True)] == ["best", "first", "tie"]
    assert [t.name for t in top_trials(trials, maximize=False, minimum=1)] == ["first"]
