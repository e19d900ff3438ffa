"""Each problem type's evaluation: headline, validation vs test with the gap flag, text view, figures and report.

The evaluations are built from evaluation-run JSON shaped as issue 20's contract says the
training package writes it (``problem_type``, ``details``; ``per_class`` and
``confusion_matrix`` empty for the new types), read through ``read_log`` as ``evaluate`` reads it.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from hf_sagemaker_tuning import contract
from hf_sagemaker_tuning.errors import BackendError
from hf_sagemaker_tuning.evaluate import (
    LARGE_RELATIVE_GAP,
    Evaluation,
    plot_confusion_matrix,
    plot_cooccurrence,
    plot_predicted_vs_true,
    plot_residuals,
    read_log,
)
from hf_sagemaker_tuning.evaluate._views import entity_spans, top_pairs
from hf_sagemaker_tuning.results._evaluation_html import evaluation_html

EMOTIONS = ["admiration", "anger", "joy"]


def _multi_label_payload() -> dict[str, Any]:
    per_label = [
        {"label": name, "precision": 0.5 + i / 10, "recall": 0.4, "f1": 0.45 + i / 20, "support": 10 * (i + 1)}
        for i, name in enumerate(EMOTIONS)
    ]
    matrix = [[10, 3, 0], [3, 20, 7], [0, 7, 30]]
    return {
        "problem_type": "multi_label_classification",
        "label_names": EMOTIONS,
        "metrics": {"eval_loss": 0.3, "eval_micro_f1": 0.55, "eval_macro_f1": 0.5, "eval_jaccard": 0.41},
        "per_class": [],
        "confusion_matrix": [],
        "details": {"per_label": per_label, "cooccurrence": {"labels": EMOTIONS, "matrix": matrix}},
    }


def _regression_payload() -> dict[str, Any]:
    rng = random.Random(0)
    true = [rng.uniform(1.0, 5.0) for _ in range(300)]
    predicted = [value + rng.gauss(0.1, 0.3) for value in true]
    return {
        "problem_type": "regression",
        "label_names": ["valence"],
        "metrics": {
            "eval_loss": 0.4,
            "eval_mse": 0.1,
            "eval_rmse": 0.316,
            "eval_mae": 0.25,
            "eval_pearson": 0.81,
            "eval_spearman": 0.79,
            "eval_official": 0.81,
        },
        "official_metric": {"task": "emobank/valence", "name": "Pearson correlation", "score": "pearson"},
        "per_class": [],
        "confusion_matrix": [],
        "details": {"points": {"true": true, "predicted": predicted}},
    }


def _token_payload() -> dict[str, Any]:
    per_type = [
        {"type": "person", "precision": 0.6, "recall": 0.5, "f1": 0.545, "support": 40},
        {"type": "location", "precision": 0.7, "recall": 0.65, "f1": 0.674, "support": 30},
    ]
    mistakes = [
        {
            "tokens": ["I", "love", "New", "York", "<b>"],
            "true": ["O", "O", "B-location", "I-location", "O"],
            "predicted": ["O", "O", "B-person", "I-location", "O"],
        }
    ]
    return {
        "problem_type": "token_classification",
        "label_names": ["O", "B-person", "I-person", "B-location", "I-location"],
        "metrics": {
            "eval_loss": 0.2,
            "eval_precision": 0.64,
            "eval_recall": 0.57,
            "eval_f1": 0.6,
            "eval_f1_person": 0.545,
            "eval_f1_location": 0.674,
        },
        "per_class": [],
        "confusion_matrix": [],
        "details": {"per_type": per_type, "mistakes": mistakes},
    }


PAYLOADS = {
    "multi_label_classification": _multi_label_payload,
    "regression": _regression_payload,
    "token_classification": _token_payload,
}


def _evaluation(payload: dict[str, Any], validation: dict[str, float] | None = None) -> Evaluation:
    """As ``evaluate`` builds it from a run's log: the metric line and the ``hfst_evaluation`` JSON line."""
    payload = {**payload, "examples": 1000, "split": "test", "device": "cpu"}
    log = "\n".join([contract.format_metric_line(payload["metrics"]), "hfst_evaluation " + json.dumps(payload)])
    metrics, read = read_log(log)
    return Evaluation(
        job="j",
        split="test",
        model="/models/m",
        model_job="j-001",
        model_source="trial",
        evaluation_job="j-eval-1",
        examples=int(read["examples"]),
        label_names=tuple(read["label_names"]),
        metrics=metrics,
        per_class=tuple(read["per_class"]),
        confusion_matrix=tuple(tuple(row) for row in read["confusion_matrix"]),
        official_metric=read.get("official_metric"),
        validation=validation,
        created="2026-12-05T10:00:00+00:00",
        problem_type=read["problem_type"],
        details=read["details"],
    )


def test_the_json_line_supplies_the_metrics_the_declared_regexes_do_not_read() -> None:
    evaluation = _evaluation(_token_payload())
    assert evaluation.metrics["eval_f1_person"] == 0.545
    assert evaluation.metrics["eval_f1"] == 0.6  # not eval_f1_person's value, whichever the regexes read


@pytest.mark.parametrize(
    ("problem_type", "headline"),
    [
        ("multi_label_classification", ("macro-F1", 0.5)),
        ("regression", ("Pearson correlation", 0.81)),  # the task's official metric
        ("token_classification", ("entity F1", 0.6)),
    ],
)
def test_the_headline_is_the_official_metric_else_the_types_main_metric(
    problem_type: str, headline: tuple[str, float]
) -> None:
    assert _evaluation(PAYLOADS[problem_type]()).score == headline


def test_regression_without_an_official_metric_is_headed_by_pearson() -> None:
    payload = _regression_payload()
    payload["official_metric"] = None
    assert _evaluation(payload).score == ("Pearson", 0.81)


def test_each_type_compares_its_own_metrics() -> None:
    compared = {t: [row[0] for row in _evaluation(make()).comparison()] for t, make in PAYLOADS.items()}
    assert compared == {
        "multi_label_classification": ["eval_macro_f1", "eval_micro_f1", "eval_jaccard", "eval_loss"],
        "regression": [
            "eval_official",
            "eval_pearson",
            "eval_spearman",
            "eval_rmse",
            "eval_mae",
            "eval_mse",
            "eval_loss",
        ],
        "token_classification": ["eval_f1", "eval_precision", "eval_recall", "eval_loss"],
    }


def test_error_metrics_are_flagged_on_their_relative_change_scores_on_the_absolute_one() -> None:
    # test: mse 0.1, rmse 0.316, mae 0.25, pearson 0.81
    close = {"eval_mse": 0.09, "eval_rmse": 0.3, "eval_mae": 0.24, "eval_pearson": 0.83, "eval_loss": 0.1}
    rows = {row[0]: row for row in _evaluation(_regression_payload(), close).comparison()}
    assert not any(row[4] for row in rows.values())
    # mae 0.25 vs 0.20: +0.05 absolute would pass a score's rule, but it is 25% of the validation error
    far = {"eval_mae": 0.20, "eval_rmse": 0.31, "eval_mse": 0.05, "eval_pearson": 0.87, "eval_loss": 2.0}
    evaluation = _evaluation(_regression_payload(), far)
    rows = {row[0]: row for row in evaluation.comparison()}
    assert rows["eval_mae"][4] and LARGE_RELATIVE_GAP <= 0.05 / 0.20
    assert not rows["eval_rmse"][4]  # 2% apart
    assert rows["eval_mse"][4]  # doubled
    assert rows["eval_pearson"][4]  # 0.06 apart on a correlation
    assert not rows["eval_loss"][4]  # compared, never flagged
    text = evaluation.summary()
    assert "mae            validation 0.2000  test 0.2500  (+0.0500)  <- large gap" in text
    assert "differ by 0.05 or more (errors: 20% or more of the validation error)" in text


def test_scores_of_the_other_types_keep_the_absolute_rule() -> None:
    validation = {"eval_macro_f1": 0.56, "eval_micro_f1": 0.56, "eval_jaccard": 0.42, "eval_loss": 0.9}
    rows = {row[0]: row[4] for row in _evaluation(_multi_label_payload(), validation).comparison()}
    assert rows == {"eval_macro_f1": True, "eval_micro_f1": False, "eval_jaccard": False, "eval_loss": False}
    evaluation = _evaluation(_token_payload(), {"eval_f1": 0.62, "eval_precision": 0.7, "eval_recall": 0.57})
    assert [row[4] for row in evaluation.comparison()] == [False, True, False, False]
    assert "(errors:" not in evaluation.summary()


def test_evaluations_round_trip_and_old_ones_load_as_single_label(tmp_path: Path) -> None:
    for make in PAYLOADS.values():
        evaluation = _evaluation(make(), {"eval_loss": 0.5})
        evaluation.save(tmp_path / "e.json")
        assert Evaluation.load(tmp_path / "e.json") == evaluation
    old = evaluation.to_json()
    del old["problem_type"], old["details"]
    old.update(metrics={"eval_macro_f1": 0.4}, per_class=[], confusion_matrix=[[1, 0], [0, 1]], label_names=["a", "b"])
    (tmp_path / "old.json").write_text(json.dumps(old))
    loaded = Evaluation.load(tmp_path / "old.json")
    assert loaded.problem_type == "single_label_classification" and loaded.details == {}
    assert loaded.score == ("macro-F1", 0.4)
    assert "confusion matrix" in loaded.details_text()


def test_multi_label_text_view_lists_labels_and_the_pairs_true_together() -> None:
    text = _evaluation(_multi_label_payload()).details_text()
    assert "  label       precision  recall     f1  support" in text
    assert "  joy            0.7000  0.4000  0.5500       30" in text
    assert text.index("anger + joy") < text.index("admiration + anger")  # 7 texts before 3
    assert "admiration + joy" not in text  # never together
    assert top_pairs({"labels": ["a", "b"], "matrix": [[1, 0], [0, 1]]}) == []


def test_regression_text_view_summarises_the_residuals() -> None:
    text = _evaluation(_regression_payload()).details_text()
    assert "residuals (predicted - true, original scale) over 300 examples:" in text
    mean = float(text.split("mean residual")[1].split()[0])
    assert 0.05 < mean < 0.15  # the payload's predictions sit 0.1 above the truth on average


def test_token_text_view_shows_types_and_mistakes_with_their_tokens() -> None:
    text = _evaluation(_token_payload()).details_text()
    assert "  entity type  precision  recall     f1  support" in text
    assert "  person          0.6000  0.5000  0.5450       40" in text
    assert "    true:      I love [New York|location] <b>" in text
    assert "    predicted: I love [New|person] [York|location] <b>" in text


@pytest.mark.parametrize(
    ("tags", "shown"),
    [
        (["B-a", "I-a", "O", "B-b"], "[w0 w1|a] w2 [w3|b]"),
        (["I-a", "I-a", "B-a", "I-b"], "[w0 w1|a] [w2|a] [w3|b]"),  # an I- after nothing, another type: new spans
        (["O", "O", "O", "O"], "w0 w1 w2 w3"),
    ],
)
def test_entity_spans_read_bio_strictly(tags: list[str], shown: str) -> None:
    assert entity_spans([f"w{i}" for i in range(4)], tags) == shown


def test_each_types_figures_draw_and_the_others_say_why_they_cannot() -> None:
    multi, regression = _evaluation(_multi_label_payload()), _evaluation(_regression_payload())
    assert plot_cooccurrence(multi).axes
    assert plot_predicted_vs_true(regression).axes
    assert len(plot_residuals(regression).axes) == 2
    with pytest.raises(BackendError, match="regression evaluation holds no label co-occurrence"):
        plot_cooccurrence(regression)
    with pytest.raises(BackendError, match="multi_label_classification evaluation holds no predicted and true"):
        plot_residuals(multi)
    wide = _multi_label_payload()
    names = [f"label{i}" for i in range(28)]  # GoEmotions' size: no numbers in the cells, still drawn
    wide["details"]["cooccurrence"] = {"labels": names, "matrix": [[i == j for j in range(28)] for i in range(28)]}
    assert plot_cooccurrence(_evaluation(wide)).axes


def test_the_report_section_shows_each_types_view() -> None:
    multi = "\n".join(evaluation_html(_evaluation(_multi_label_payload(), {"eval_macro_f1": 0.6})))
    assert "<th>label</th><th>precision</th>" in multi and "<td>anger</td>" in multi
    assert 'alt="Label co-occurrence (test)" src="data:image/png;base64,' in multi
    assert "multi label classification" in multi and 'class="gap">large gap' in multi
    regression = "\n".join(evaluation_html(_evaluation(_regression_payload(), {"eval_mae": 0.2})))
    assert 'alt="Predicted vs true (test)" src="data:image/png' in regression
    assert 'alt="Residuals (test)" src="data:image/png' in regression
    assert "errors: 20% or more of the validation error" in regression
    token = "\n".join(evaluation_html(_evaluation(_token_payload())))
    assert "<th>entity type</th>" in token and "<td>location</td>" in token
    assert "<th>&lt;b&gt;</th>" in token  # tokens are escaped
    assert '<td class="gap">B-person</td>' in token  # the wrong tag is marked
    assert "<img" not in token
    assert "Confusion matrix" not in multi + regression + token


def test_the_single_label_view_is_unchanged() -> None:
    payload = {
        "problem_type": "single_label_classification",
        "label_names": ["a", "b"],
        "metrics": {"eval_macro_f1": 0.5, "eval_accuracy": 0.6, "eval_loss": 0.7},
        "per_class": [{"label": "a", "precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}],
        "confusion_matrix": [[1, 1], [0, 2]],
        "details": {},
    }
    evaluation = _evaluation(payload)
    section = "\n".join(evaluation_html(evaluation))
    assert 'alt="Confusion matrix (test)"' in section and "<th>class</th>" in section
    assert "confusion matrix (rows: true" in evaluation.details_text()
    assert plot_confusion_matrix(evaluation).axes
