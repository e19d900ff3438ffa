"""Specs built in Python: the same ``SpecError`` (field paths, messages) as YAML, paths accepted, YAML round trip.

Issue 10, item 7: constructors raised bare pydantic ``ValidationError``s; ``dump_yaml`` dropped ``kind`` of
parameters built in Python, so the YAML did not load again; ``TrainingSpec(model=Path(...))`` was refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from pydantic import ValidationError

from hf_sagemaker_tuning.errors import SpecError
from hf_sagemaker_tuning.specs import (
    CategoricalParameter,
    CompletionSpec,
    ContinuousParameter,
    DatasetSpec,
    IntegerParameter,
    ObjectiveSpec,
    SageMakerSpec,
    SearchSpace,
    TrainingSpec,
    TuningJobSpec,
    TuningSpec,
    dump_yaml,
    load_job_spec,
    parse_job_spec,
)

from ._base_spec import BASE, spec_with
from .test_invalid_specs import CASES
from .test_roundtrip_properties import job_specs

KINDS = {"continuous": ContinuousParameter, "integer": IntegerParameter, "categorical": CategoricalParameter}


def built_in_python(data: dict[str, Any]) -> TuningJobSpec:
    """The spec that ``data`` describes, made with the Python classes (``kind`` never passed)."""
    space = {
        name: KINDS[param["kind"]](**{k: v for k, v in param.items() if k != "kind"})
        for name, param in data["search_space"].items()
    }
    tuning = dict(data["tuning"])
    if "completion" in tuning:
        tuning["completion"] = CompletionSpec(**tuning["completion"])
    return TuningJobSpec(
        name=data["name"],
        dataset=DatasetSpec(**data["dataset"]),
        training=TrainingSpec(**data["training"]),
        search_space=SearchSpace(space),
        objective=ObjectiveSpec(**data["objective"]),
        tuning=TuningSpec(**tuning),
        sagemaker=SageMakerSpec(**data["sagemaker"]),
    )


def test_constructor_raises_spec_error_not_a_bare_validation_error() -> None:
    with pytest.raises(SpecError) as info:
        ContinuousParameter(min=1, max=0.1)
    assert not isinstance(info.value, ValidationError)
    assert isinstance(info.value, ValueError)
    assert "min (1.0) must be smaller than max (0.1); bounds are inclusive" in str(info.value)
    assert str(info.value).startswith("invalid ContinuousParameter: 1 problem")


@pytest.mark.parametrize(
    ("make", "path", "fragment"),
    [
        (lambda: TrainingSpec(model="m", instance_type="g5.xlarge"), "instance_type", "not a SageMaker instance type"),
        (lambda: TuningSpec(strategy="Foo", max_jobs=3), "strategy", "'bayesian', 'random', 'grid' or 'hyperband'"),
        (lambda: IntegerParameter(min=0, max=5, scaling="reverse_logarithmic"), "scaling", "continuous parameters"),
        (lambda: ContinuousParameter(min=0.1, max=0.2, step=3), "step", "unknown field"),
        (lambda: DatasetSpec(source="s3://Bad_Bucket/x"), "source", "not a valid S3 URI"),
        (lambda: SearchSpace({"lr": {"kind": "continuous", "min": 1, "max": 0.1}}), "lr", "must be smaller"),
        (lambda: SearchSpace({"warmup_steps": {"kind": "integer", "min": 0}}), "warmup_steps.max", "missing"),
        (lambda: SearchSpace.model_validate({}), "(top level)", "at least one hyperparameter"),
        (lambda: ContinuousParameter.model_validate({"min": 2, "max": 1}), "(top level)", "must be smaller"),
        (lambda: TuningSpec.model_validate_json('{"max_jobs": 0}'), "max_jobs", "greater than or equal to 1"),
    ],
    ids=["training", "tuning", "integer", "unknown", "dataset", "space", "space-missing", "space-mv", "mv", "json"],
)
def test_every_spec_class_names_the_field(make: Any, path: str, fragment: str) -> None:
    with pytest.raises(SpecError) as info:
        make()
    assert [p for p, _ in info.value.errors] == [path], str(info.value)
    assert f"  {path}: " in str(info.value) and fragment in str(info.value)


@pytest.mark.parametrize(("changes", "path", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_python_constructor_and_model_validate_give_the_yaml_messages(
    changes: dict[str, Any], path: str, fragment: str
) -> None:
    data = spec_with(**changes)
    with pytest.raises(SpecError) as from_yaml:
        parse_job_spec(data)
    with pytest.raises(SpecError) as from_init:
        TuningJobSpec(**data)
    with pytest.raises(SpecError) as from_validate:
        TuningJobSpec.model_validate(data)
    assert from_init.value.errors == from_yaml.value.errors == from_validate.value.errors
    assert str(from_init.value) == str(from_yaml.value) == str(from_validate.value)
    assert any(p == path for p, _ in from_init.value.errors)


def test_nested_errors_keep_the_parent_path() -> None:
    data = spec_with(**{"search_space.learning_rate.max": 1e-7, "dataset.max_length": 3})
    with pytest.raises(SpecError) as info:
        TuningJobSpec(**data)
    assert {p for p, _ in info.value.errors} == {"search_space.learning_rate", "dataset.max_length"}


def test_paths_are_accepted_and_stored_as_text(tmp_path: Path) -> None:
    training = TrainingSpec(model=tmp_path / "model", source_dir=tmp_path / "src", entry_point="train.py")
    assert training.model == str(tmp_path / "model") and isinstance(training.model, str)
    assert training.source_dir == str(tmp_path / "src")
    dataset = DatasetSpec(source=tmp_path / "tweets.csv")
    assert dataset.source == str(tmp_path / "tweets.csv") and dataset.resolved_kind == "files"


def test_python_built_spec_dumps_kind_and_loads_again(tmp_path: Path) -> None:
    spec = built_in_python(BASE)
    text = dump_yaml(spec)
    kinds = {name: p["kind"] for name, p in yaml.safe_load(text)["search_space"].items()}
    assert kinds == {name: p["kind"] for name, p in BASE["search_space"].items()}
    file = tmp_path / "job.yaml"
    file.write_text(text, encoding="utf-8")
    assert load_job_spec(file) == spec


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(job_specs())
def test_any_python_built_spec_survives_a_yaml_round_trip(data: dict[str, Any]) -> None:
    spec = built_in_python(data)
    assert spec == parse_job_spec(data)
    text = dump_yaml(spec)
    again = parse_job_spec(yaml.safe_load(text))
    assert again == spec
    assert dump_yaml(again) == text
