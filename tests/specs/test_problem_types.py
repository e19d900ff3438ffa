"""dataset.problem_type: per-type columns, and objectives / hyperparameters that must fit the type."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hf_sagemaker_tuning import contract
from hf_sagemaker_tuning.compile import compile_request
from hf_sagemaker_tuning.errors import SpecError
from hf_sagemaker_tuning.specs import load_job_spec, parse_job_spec

from ._base_spec import spec_with

REGRESSION = {"dataset.problem_type": "regression", "dataset.config": ..., "dataset.source": "./data/stsb"}
MULTI = {"dataset.problem_type": "multi_label_classification", "dataset.config": ..., "dataset.source": "./data/ge"}
NER = {
    "dataset.problem_type": "token_classification",
    "dataset.config": ...,
    "dataset.source": "./data/wnut17",
    "dataset.text_column": ...,
    "dataset.label_column": ...,
}


def _typed(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return spec_with(**{**base, **changes})


CASES: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "macro-f1-on-regression",
        _typed(REGRESSION, **{"objective.metric": "eval_macro_f1"}),
        "objective.metric",
        "'eval_mse', 'eval_rmse', 'eval_mae', 'eval_pearson', 'eval_spearman'",
    ),
    (
        "accuracy-on-multilabel",
        _typed(MULTI, **{"objective.metric": "eval_accuracy"}),
        "objective.metric",
        "eval_jaccard",
    ),
    (
        "pearson-on-ner",
        _typed(NER, **{"objective.metric": "eval_pearson"}),
        "objective.metric",
        "eval_f1_<entity type>",
    ),
    (
        "threshold-on-single-label",
        spec_with(**{"training.hyperparameters.threshold": 0.3}),
        "training.hyperparameters.threshold",
        "multi_label_classification",
    ),
    (
        "label-smoothing-on-regression",
        _typed(REGRESSION, **{"objective.metric": "eval_pearson", "training.hyperparameters.label_smoothing": 0.1}),
        "training.hyperparameters.label_smoothing",
        "no effect on regression",
    ),
    (
        "best-model-metric-of-another-type",
        _typed(
            REGRESSION,
            **{"objective.metric": "eval_pearson", "training.hyperparameters.metric_for_best_model": "eval_accuracy"},
        ),
        "training.hyperparameters.metric_for_best_model",
        "regression prints no 'eval_accuracy'",
    ),
    (
        "tuned-threshold-on-ner",
        _typed(
            NER,
            **{"objective.metric": "eval_f1", "search_space.threshold": {"kind": "continuous", "min": 0.2, "max": 0.6}},
        ),
        "search_space.threshold",
        "multi_label_classification",
    ),
    (
        "task-of-another-type",
        _typed(REGRESSION, **{"objective.metric": "eval_pearson", "dataset.task": "wnut_17"}),
        "dataset.task",
        "set problem_type: token_classification",
    ),
    (
        "standardize-on-classification",
        spec_with(**{"dataset.standardize_target": True}),
        "dataset.standardize_target",
        "regression only",
    ),
    (
        "pairs-for-ner",
        _typed(NER, **{"objective.metric": "eval_f1", "dataset.text_column": ["a", "b"]}),
        "dataset.text_column",
        "not text pairs",
    ),
    (
        "non-bio-tags",
        _typed(NER, **{"objective.metric": "eval_f1", "dataset.label_names": ["O", "PER"]}),
        "dataset.label_names",
        "BIO tag names",
    ),
]


@pytest.mark.parametrize(("data", "path", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_objective_and_hyperparameters_must_fit_the_problem_type(
    data: dict[str, Any], path: str, fragment: str
) -> None:
    with pytest.raises(SpecError) as info:
        parse_job_spec(data)
    message = str(info.value)
    assert f"  {path}: " in message, message
    assert fragment in message, message


def test_each_type_has_its_column_defaults() -> None:
    ner = parse_job_spec(_typed(NER, **{"objective.metric": "eval_f1"})).dataset
    assert (ner.text_column, ner.label_column) == ("tokens", "ner_tags")
    multi = parse_job_spec(_typed(MULTI, **{"objective.metric": "eval_macro_f1", "dataset.label_column": ...})).dataset
    assert (multi.text_column, multi.label_column) == ("text", "labels")
    assert parse_job_spec(spec_with()).dataset.problem_type == "single_label_classification"


@pytest.mark.parametrize(
    ("base", "metric", "direction"),
    [
        (REGRESSION, "eval_mse", "minimize"),
        (REGRESSION, "eval_mae", "minimize"),
        (REGRESSION, "eval_pearson", "maximize"),
        (MULTI, "eval_jaccard", "maximize"),
        (NER, "eval_f1_person", "maximize"),
        (NER, "eval_loss", "minimize"),
    ],
)
def test_errors_and_losses_are_minimised(base: dict[str, Any], metric: str, direction: str) -> None:
    data = _typed(base, **{"objective.metric": metric, "objective.direction": ...})
    spec = parse_job_spec(data)
    assert spec.direction == direction
    config = compile_request(spec).HyperParameterTuningJobConfig.HyperParameterTuningJobObjective
    assert (config.Type, config.MetricName) == (direction.capitalize(), metric)


@pytest.mark.parametrize("base", [REGRESSION, MULTI, NER])
def test_metric_definitions_are_the_types_metrics(base: dict[str, Any]) -> None:
    kind = base["dataset.problem_type"]
    tags = ["O", "B-person", "I-person", "B-creative-work", "I-creative-work"]
    extra = {"dataset.label_names": tags} if kind == "token_classification" else {}
    metric = contract.primary_metric(kind)
    spec = parse_job_spec(_typed(base, **{"objective.metric": metric, "objective.direction": ..., **extra}))
    request = compile_request(spec)
    names = [d.Name for d in request.TrainingJobDefinition.AlgorithmSpecification.MetricDefinitions]
    expected = set(contract.problem_type_metrics(kind))
    if kind == "token_classification":
        expected |= {"eval_f1_person", "eval_f1_creative_work"}
    assert names[0] == metric and set(names) == expected
    static = request.TrainingJobDefinition.StaticHyperParameters
    assert static["metric_for_best_model"].strip('"') == metric  # the checkpoint kept is the one the tuner scores


def test_single_label_metric_definitions_are_unchanged() -> None:
    request = compile_request(parse_job_spec(spec_with()))
    names = [d.Name for d in request.TrainingJobDefinition.AlgorithmSpecification.MetricDefinitions]
    assert set(names) == set(contract.problem_type_metrics("single_label_classification"))
    assert "eval_pearson" not in names


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TYPE_EXAMPLES = {
    "goemotions-multilabel.yaml": "multi_label_classification",
    "stsb-regression.yaml": "regression",
    "emobank-regression.yaml": "regression",
    "wnut17-ner.yaml": "token_classification",
}


@pytest.mark.parametrize(("name", "kind"), list(TYPE_EXAMPLES.items()))
def test_each_type_example_validates_and_compiles_with_its_metrics(name: str, kind: str) -> None:
    spec = load_job_spec(EXAMPLES / name)
    assert spec.dataset.problem_type == kind
    assert spec.dataset.source.startswith("../shared/data/")  # read in place, never copied into the repository
    assert spec.dataset.resolved_task is not None  # eval_official: the dataset's official metric
    request = compile_request(spec, target="local")
    names = {d.Name for d in request.TrainingJobDefinition.AlgorithmSpecification.MetricDefinitions}
    assert set(contract.problem_type_metrics(kind)) <= names
    if kind == "token_classification":
        assert {"eval_f1_person", "eval_f1_creative_work", "eval_f1_product"} <= names
