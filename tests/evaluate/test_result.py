"""``Evaluation`` (side by side, gap flag, JSON round trip, log parsing) and ``eval_official`` as an objective."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from hf_sagemaker_tuning import contract
from hf_sagemaker_tuning.compile import compile_request
from hf_sagemaker_tuning.errors import BackendError
from hf_sagemaker_tuning.evaluate import Evaluation, plot_confusion_matrix, read_log
from tests.backends.sagemaker_env import example_spec


def _evaluation(validation: dict[str, float] | None) -> Evaluation:
    return Evaluation(
        job="j",
        split="test",
        model="/models/m",
        model_job="j-001",
        model_source="trial",
        evaluation_job="j-eval-1",
        examples=1421,
        label_names=("anger", "joy"),
        metrics={"eval_loss": 0.9, "eval_macro_f1": 0.39, "eval_official": 0.39, "eval_accuracy": 0.6},
        per_class=({"label": "anger", "precision": 0.5, "recall": 0.4, "f1": 0.44, "support": 700},),
        confusion_matrix=((600, 100), (500, 221)),
        official_metric={"task": "tweet_eval/emotion", "name": "macro-F1", "score": "f1", "classes": None},
        validation=validation,
        created="2026-12-02T10:00:00+00:00",
    )


def test_a_large_validation_test_gap_is_flagged_and_a_small_one_is_not() -> None:
    shifted = _evaluation({"eval_macro_f1": 0.745, "eval_official": 0.745, "eval_accuracy": 0.62, "eval_loss": 0.5})
    rows = {row[0]: row for row in shifted.comparison()}
    assert rows["eval_official"][1:] == (0.745, 0.39, pytest.approx(-0.355), True)
    assert rows["eval_accuracy"][4] is False  # 0.02 apart
    assert rows["eval_loss"][4] is False  # a loss is compared, never flagged
    assert shifted.large_gap
    text = shifted.summary()
    assert "Test score of j-001 (trial): macro-F1 0.3900 on 1,421 test examples" in text
    assert "official       validation 0.7450  test 0.3900  (-0.3550)  <- large gap" in text
    assert "may not represent the test data" in text
    assert not _evaluation(None).large_gap
    assert "validation" not in _evaluation(None).summary()


def test_an_evaluation_survives_a_json_round_trip(tmp_path: Path) -> None:
    evaluation = _evaluation({"eval_official": 0.5})
    evaluation.save(tmp_path / "e.json")
    assert Evaluation.load(tmp_path / "e.json") == evaluation
    later = {**evaluation.to_json(), "added_by_a_later_version": 1}
    (tmp_path / "later.json").write_text(json.dumps(later))
    assert Evaluation.load(tmp_path / "later.json") == evaluation
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(BackendError, match="is not a saved evaluation"):
        Evaluation.load(tmp_path / "bad.json")
    assert plot_confusion_matrix(evaluation).axes  # draws without pyplot


def test_the_log_is_read_with_the_generated_regexes_and_the_json_line() -> None:
    line = contract.format_metric_line({"eval_loss": 1e-05, "eval_official": 0.25})
    log = "\n".join(["noise eval_loss=3", line, 'hfst_evaluation {"examples": 3, "metrics": {}}'])
    metrics, payload = read_log(log)
    assert metrics == {"eval_loss": 1e-05, "eval_official": 0.25}  # 1e-05 read whole
    assert payload["examples"] == 3
    with pytest.raises(BackendError, match="no hfst_evaluation line"):
        read_log(line)


def test_eval_official_is_an_objective_that_validates_and_compiles() -> None:
    spec = example_spec().model_copy(deep=True)
    data = json.loads(spec.model_dump_json())
    data["objective"] = {"metric": "eval_official"}
    from hf_sagemaker_tuning.specs import parse_job_spec

    request = compile_request(parse_job_spec(data), job_name="official-1")
    definitions = request.TrainingJobDefinition.AlgorithmSpecification.MetricDefinitions
    assert definitions[0].Name == "eval_official"
    assert re.search(definitions[0].Regex, "hfst_metric epoch=1.0 step=3 eval_official=0.7123").group(1) == "0.7123"  # type: ignore[union-attr]
    assert request.HyperParameterTuningJobConfig.HyperParameterTuningJobObjective.Type == "Maximize"
