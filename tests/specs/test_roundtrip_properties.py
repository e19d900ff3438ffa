"""Properties: any valid spec survives a YAML round trip unchanged and compiles to a request botocore accepts."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hf_sagemaker_tuning.compile import compile_request, validate_request_body
from hf_sagemaker_tuning.contract import declared_hyperparameters
from hf_sagemaker_tuning.specs import dump_yaml, parse_job_spec

from ._base_spec import BASE

DECLARED = declared_hyperparameters()
FLOATS = ["learning_rate", "weight_decay", "warmup_ratio", "label_smoothing", "adam_beta1", "max_grad_norm"]
INTS = ["warmup_steps", "per_device_train_batch_size", "gradient_accumulation_steps", "seed"]
CATEGORICALS = ["optimizer", "lr_scheduler_type", "precision"]


@st.composite
def continuous(draw: st.DrawFn, name: str) -> dict[str, Any]:
    decl = DECLARED[name]
    lo_bound = float(decl.min if decl.min is not None else -1e3)
    hi_bound = float(decl.max if decl.max is not None else 1e3)
    a = draw(st.floats(lo_bound, hi_bound, allow_nan=False, allow_infinity=False, allow_subnormal=False))
    b = draw(st.floats(lo_bound, hi_bound, allow_nan=False, allow_infinity=False, allow_subnormal=False))
    lo, hi = sorted((a, b))
    if lo == hi:
        hi = lo + 1e-3 if lo + 1e-3 <= hi_bound else hi
        lo = hi - 1e-3 if lo == hi else lo
    scalings = ["auto", "linear"]
    if lo > 0:
        scalings.append("logarithmic")
    if 0 <= lo < hi < 1:
        scalings.append("reverse_logarithmic")
    return {"kind": "continuous", "min": lo, "max": hi, "scaling": draw(st.sampled_from(scalings))}


@st.composite
def integer(draw: st.DrawFn, name: str) -> dict[str, Any]:
    decl = DECLARED[name]
    lo_bound = int(decl.min if decl.min is not None else 0)
    hi_bound = int(decl.max if decl.max is not None else 10_000)
    lo = draw(st.integers(lo_bound, hi_bound - 1))
    hi = draw(st.integers(lo + 1, hi_bound))
    scalings = ["auto", "linear"] + (["logarithmic"] if lo > 0 else [])
    return {"kind": "integer", "min": lo, "max": hi, "scaling": draw(st.sampled_from(scalings))}


@st.composite
def categorical(draw: st.DrawFn, name: str) -> dict[str, Any]:
    choices = list(DECLARED[name].choices or ())
    return {"kind": "categorical", "values": draw(st.lists(st.sampled_from(choices), min_size=1, unique=True))}


@st.composite
def job_specs(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(FLOATS + INTS + CATEGORICALS), min_size=1, max_size=8, unique=True))
    space = {}
    for name in names:
        maker = continuous if name in FLOATS else integer if name in INTS else categorical
        space[name] = draw(maker(name))
    strategy = draw(st.sampled_from(["bayesian", "random"]))
    max_jobs = draw(st.integers(1, 750))
    tuning: dict[str, Any] = {
        "strategy": strategy,
        "max_jobs": max_jobs,
        "max_parallel_jobs": draw(st.integers(1, min(max_jobs, 100))),
        "early_stopping": draw(st.sampled_from(["off", "auto"])),
    }
    if draw(st.booleans()):
        tuning["random_seed"] = draw(st.integers(0, 2**31 - 1))
    if draw(st.booleans()):
        tuning["max_runtime_seconds"] = draw(st.integers(120, 15_768_000))
    if draw(st.booleans()):
        tuning["completion"] = {
            "target_objective_value": draw(st.floats(0, 1, allow_nan=False)),
            "max_jobs_not_improving": draw(st.integers(3, 100)),
            "complete_on_convergence": draw(st.booleans()),
        }
    static = {k: v for k, v in BASE["training"]["hyperparameters"].items() if k not in space}
    return {
        **BASE,
        "name": draw(st.from_regex(r"[a-z][a-z0-9\-]{0,30}[a-z0-9]", fullmatch=True)),
        "training": {**BASE["training"], "hyperparameters": static},
        "search_space": space,
        "objective": {"metric": draw(st.sampled_from(["eval_macro_f1", "eval_loss", "eval_accuracy"]))},
        "tuning": tuning,
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(job_specs())
def test_valid_spec_survives_yaml_round_trip_and_compiles(data: dict[str, Any]) -> None:
    spec = parse_job_spec(data)
    text = dump_yaml(spec)
    again = parse_job_spec(yaml.safe_load(text))
    assert again == spec
    assert dump_yaml(again) == text
    request = compile_request(spec, job_name="prop-test")
    validate_request_body(request.to_api())
    ranges = request.HyperParameterTuningJobConfig.ParameterRanges
    sent = {
        r.Name
        for r in ranges.IntegerParameterRanges + ranges.ContinuousParameterRanges + ranges.CategoricalParameterRanges
    }
    assert sent == set(spec.search_space.names())
    for r in ranges.ContinuousParameterRanges:
        assert float(r.MinValue) == spec.search_space[r.Name].min  # type: ignore[union-attr]
        assert float(r.MaxValue) == spec.search_space[r.Name].max  # type: ignore[union-attr]
