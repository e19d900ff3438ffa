"""The checks follow botocore's SageMaker service model: what it lists passes, what it does not list fails."""

from __future__ import annotations

import pytest

from hf_sagemaker_tuning import SpecError
from hf_sagemaker_tuning.preflight import (
    endpoint_instance_problem,
    endpoint_instance_types,
    request_field_problems,
    training_instance_problem,
    training_instance_types,
)
from hf_sagemaker_tuning.specs import TrainingSpec, parse_job_spec

from ..specs._base_spec import spec_with


def _model_enum(shape: str) -> list[str]:
    import botocore.session

    return list(botocore.session.get_session().get_service_model("sagemaker").shape_for(shape).enum)


def _unlisted(listed: list[str]) -> str:
    """A well-formed instance type the model does not list (built from a listed one)."""
    for base in listed:
        candidate = base + "x"
        if candidate not in listed:
            return candidate
    raise AssertionError("every candidate is listed")  # pragma: no cover


def test_every_training_type_the_model_lists_passes_and_one_it_does_not_fails() -> None:
    listed = _model_enum("TrainingInstanceType")
    assert list(training_instance_types()) == listed
    for instance_type in listed:  # image_uri given: the processor rule is not what this test is about
        TrainingSpec(model="distilbert-base-uncased", instance_type=instance_type, image_uri="123.dkr.ecr/x:1")
    with pytest.raises(SpecError) as info:
        TrainingSpec(model="distilbert-base-uncased", instance_type=_unlisted(listed), image_uri="123.dkr.ecr/x:1")
    assert [path for path, _ in info.value.errors] == ["instance_type"]
    assert f"{len(listed)} are listed" in str(info.value)


def test_a_typo_names_the_field_and_the_closest_types_not_all_of_them() -> None:
    with pytest.raises(SpecError) as info:
        parse_job_spec(spec_with(**{"training.instance_type": "ml.g5.xlarg"}))
    ((path, message),) = info.value.errors
    assert path == "training.instance_type"
    assert "did you mean ml.g5.xlarge" in message
    assert len(message) < 400  # a hint and a count, never the whole list
    assert training_instance_problem("ml.g5.xlarge") is None


def test_endpoint_types_follow_the_hosting_enum() -> None:
    listed = _model_enum("ProductionVariantInstanceType")
    assert list(endpoint_instance_types()) == listed
    assert all(endpoint_instance_problem(t) is None for t in listed)
    problem = endpoint_instance_problem(_unlisted(listed))
    assert problem is not None and "for endpoints" in problem


def test_request_fields_are_checked_against_patterns_and_ranges() -> None:
    body = {
        "HyperParameterTuningJobName": "x" * 40,
        "TrainingJobDefinition": {
            "RoleArn": "not-an-arn-but-long-enough-for-min",
            "StaticHyperParameters": {"note": "v" * 2501},
            "ResourceConfig": {"InstanceType": "ml.nope.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
        },
        "HyperParameterTuningJobConfig": {"ResourceLimits": {"MaxRuntimeInSeconds": 10}},
        "Tags": [{"Key": "team", "Value": "nlp"}],
    }
    problems = dict(request_field_problems(body))
    assert "at most 32" in problems["HyperParameterTuningJobName"]
    assert "pattern" in problems["TrainingJobDefinition.RoleArn"]
    assert "at most 2,500" in problems["TrainingJobDefinition.StaticHyperParameters.note"]
    assert "not a valid TrainingInstanceType" in problems["TrainingJobDefinition.ResourceConfig.InstanceType"]
    assert "minimum of 120" in problems["HyperParameterTuningJobConfig.ResourceLimits.MaxRuntimeInSeconds"]
    assert not any(path.startswith("Tags") for path in problems)  # \p{L} patterns are read, not skipped
