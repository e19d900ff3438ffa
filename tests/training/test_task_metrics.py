"""Each problem type's metrics against an independent computation on fixed and generated predictions.

Multi-label against scikit-learn, regression against scipy and scikit-learn, entity-level scores
against seqeval (strict mode, IOB2), the definitions the issue names.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hfst_train.tasks.bio import entities, entity_scores, metric_key
from hfst_train.tasks.multilabel import multilabel_metrics, per_label_scores
from hfst_train.tasks.regression import rank, regression_metrics
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-creative-work", "I-creative-work"]


def _sklearn_multilabel(true: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import f1_score, jaccard_score

    return {
        "eval_micro_f1": float(f1_score(true, predicted, average="micro", zero_division=0)),
        "eval_macro_f1": float(f1_score(true, predicted, average="macro", zero_division=0)),
        "eval_jaccard": float(jaccard_score(true, predicted, average="samples", zero_division=1.0)),
    }


def test_multilabel_metrics_on_fixed_predictions() -> None:
    true = np.array([[1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0], [1, 1, 0, 0]], dtype=bool)
    predicted = np.array([[1, 0, 0, 0], [0, 1, 1, 0], [0, 0, 0, 0], [0, 1, 0, 0]], dtype=bool)
    ours = multilabel_metrics(true, predicted)
    assert ours == pytest.approx(_sklearn_multilabel(true, predicted))
    # by hand: tp 3, fp 1, fn 2 -> micro 6/9; jaccard (1/2 + 1/2 + 1 + 1/2) / 4
    assert ours["eval_micro_f1"] == pytest.approx(6 / 9)
    assert ours["eval_jaccard"] == pytest.approx(2.5 / 4)


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(bool, st.tuples(st.integers(1, 12), st.integers(2, 6))).flatmap(
        lambda t: st.tuples(st.just(t), hnp.arrays(bool, t.shape))
    )
)
def test_multilabel_metrics_match_scikit_learn(pair: tuple[np.ndarray, np.ndarray]) -> None:
    true, predicted = pair
    assert multilabel_metrics(true, predicted) == pytest.approx(_sklearn_multilabel(true, predicted))
    from sklearn.metrics import precision_recall_fscore_support

    p, r, f, s = precision_recall_fscore_support(true, predicted, average=None, zero_division=0)
    ours = per_label_scores(true, predicted)
    assert ours["precision"] == pytest.approx(p) and ours["recall"] == pytest.approx(r)
    assert ours["f1"] == pytest.approx(f) and list(ours["support"]) == list(s)


def _scipy_regression(true: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    from scipy.stats import pearsonr, spearmanr
    from sklearn.metrics import mean_absolute_error, mean_squared_error

    mse = float(mean_squared_error(true, predicted))
    return {
        "eval_mse": mse,
        "eval_rmse": math.sqrt(mse),
        "eval_mae": float(mean_absolute_error(true, predicted)),
        "eval_pearson": float(pearsonr(true, predicted)[0]),
        "eval_spearman": float(spearmanr(true, predicted)[0]),
    }


def test_regression_metrics_on_fixed_predictions() -> None:
    true = np.array([1.0, 2.5, 3.0, 4.2, 5.0, 2.5])
    predicted = np.array([1.2, 2.0, 3.3, 3.9, 4.1, 2.5])
    assert regression_metrics(true, predicted) == pytest.approx(_scipy_regression(true, predicted))


finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False).map(lambda v: round(v, 2))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(finite, finite), min_size=3, max_size=40))
def test_regression_metrics_match_scipy(rows: list[tuple[float, float]]) -> None:
    true = np.array([r[0] for r in rows])
    predicted = np.array([r[1] for r in rows])
    ours = regression_metrics(true, predicted)
    if np.ptp(true) == 0 or np.ptp(predicted) == 0:  # undefined correlation: ours is 0.0, scipy's nan
        assert ours["eval_pearson"] == 0.0
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = _scipy_regression(true, predicted)
    assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-9)


def test_ranks_average_ties_like_scipy() -> None:
    from scipy.stats import rankdata

    values = np.array([3.0, 1.0, 3.0, 2.0, 3.0, 1.0])
    assert list(rank(values)) == list(rankdata(values))


def _seqeval(true: list[list[str]], predicted: list[list[str]]) -> tuple[dict[str, float], dict[str, float]]:
    from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
    from seqeval.scheme import IOB2

    kwargs = {"mode": "strict", "scheme": IOB2, "zero_division": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        overall = {
            "precision": precision_score(true, predicted, **kwargs),
            "recall": recall_score(true, predicted, **kwargs),
            "f1": f1_score(true, predicted, **kwargs),
        }
        report = classification_report(true, predicted, output_dict=True, **kwargs)
    per_type = {k: v["f1-score"] for k, v in report.items() if not k.endswith(" avg")}
    return overall, per_type


def test_entity_scores_on_fixed_predictions() -> None:
    true = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-creative-work", "I-creative-work", "I-creative-work"]]
    predicted = [["B-PER", "I-PER", "O", "I-LOC"], ["O", "B-creative-work", "I-creative-work", "O"]]
    overall, per_type = entity_scores(true, predicted)
    theirs, theirs_types = _seqeval(true, predicted)
    assert overall == pytest.approx(theirs)
    # PER right; creative-work ends one word early (wrong); the lone I-LOC starts no entity
    assert overall == pytest.approx({"precision": 0.5, "recall": 1 / 3, "f1": 0.4})
    assert {str(row["type"]): row["f1"] for row in per_type} == pytest.approx(theirs_types)
    assert metric_key("creative-work") == "eval_f1_creative_work"


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(1, 9), min_size=1, max_size=6).flatmap(
        lambda lengths: st.tuples(
            st.tuples(*(st.lists(st.sampled_from(TAGS), min_size=n, max_size=n) for n in lengths)),
            st.tuples(*(st.lists(st.sampled_from(TAGS), min_size=n, max_size=n) for n in lengths)),
        )
    )
)
def test_entity_scores_match_seqeval_strict_iob2(pair: tuple[tuple[list[str], ...], tuple[list[str], ...]]) -> None:
    true, predicted = [list(t) for t in pair[0]], [list(p) for p in pair[1]]
    overall, per_type = entity_scores(true, predicted)
    theirs, theirs_types = _seqeval(true, predicted)
    assert overall == pytest.approx(theirs)
    ours_types = {str(row["type"]): row["f1"] for row in per_type}
    assert ours_types == pytest.approx(theirs_types)


def test_strict_entities_ignore_a_dangling_inside_tag() -> None:
    assert entities(["I-PER", "B-PER", "I-PER", "I-LOC", "B-LOC"]) == [(0, "PER", 1, 3), (0, "LOC", 4, 5)]
