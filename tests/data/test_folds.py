"""The fold assignment: every row in exactly one fold's validation part, groups spread evenly, seeded."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hf_sagemaker_tuning.data._folds import (
    deal,
    multi_label_folds,
    plain_folds,
    quantile_bins,
    rarest_labels,
    regression_folds,
    single_label_folds,
    too_small_classes,
)

labels_and_k = st.integers(2, 6).flatmap(
    lambda k: st.tuples(st.lists(st.integers(0, 4), min_size=k, max_size=80), st.just(k))
)


@settings(max_examples=60, deadline=None)
@given(labels_and_k, st.integers(0, 2**31 - 1))
def test_each_row_sits_in_one_validation_part_and_folds_differ_by_at_most_one(
    case: tuple[list[int], int], seed: int
) -> None:
    labels, k = case
    folds = single_label_folds(labels, k, seed)
    validation_parts = [{i for i, f in enumerate(folds) if f == fold} for fold in range(k)]
    # no example in two folds' validation parts, and every example in one
    assert sum(len(part) for part in validation_parts) == len(labels)
    assert set().union(*validation_parts) == set(range(len(labels)))
    sizes = [len(part) for part in validation_parts]
    assert max(sizes) - min(sizes) <= 1
    for label in set(labels):  # stratified: each class spread over the folds as evenly as it can be
        per_fold = Counter(folds[i] for i, lab in enumerate(labels) if lab == label)
        counts = [per_fold.get(fold, 0) for fold in range(k)]
        assert max(counts) - min(counts) <= 1
    assert single_label_folds(labels, k, seed) == folds  # seeded: the same assignment again


def test_another_seed_gives_another_assignment_and_unstratified_ignores_labels() -> None:
    labels = [0] * 30 + [1] * 10
    assert single_label_folds(labels, 5, 0) != single_label_folds(labels, 5, 1)
    plain = single_label_folds(labels, 5, 0, stratified=False)
    assert plain == plain_folds(40, 5, 0)


def test_too_small_classes_names_each_class_below_the_number_of_folds() -> None:
    assert too_small_classes(["a"] * 5 + ["b"] * 2 + ["c"], 3) == {"b": 2, "c": 1}
    assert too_small_classes([0, 0, 1, 1], 2) == {}


def test_deal_refuses_fewer_rows_than_folds_and_fewer_than_two_folds() -> None:
    with pytest.raises(ValueError, match="cannot make 3 folds"):
        deal([0, 1], 3, 0)
    with pytest.raises(ValueError, match="at least 2"):
        deal([0, 1], 1, 0)


def test_multi_label_is_stratified_by_each_texts_rarest_label() -> None:
    sets = [[0, 1]] * 8 + [[0]] * 8 + [[0, 2]] * 4 + [[]] * 4
    assert rarest_labels([[0, 1], [0], [0, 2], []]) == [1, 0, 2, None]  # counts: 0: 20, 1: 8, 2: 4
    folds = multi_label_folds(sets, 4, seed=0)
    rare = Counter(folds[i] for i in range(16, 20))  # the four texts with the rarest label 2
    assert sorted(rare.values()) == [1, 1, 1, 1]  # one in every fold
    assert sorted(Counter(folds).values()) == [6, 6, 6, 6]


def test_regression_is_stratified_by_quantile_bins_of_the_target() -> None:
    values = [float(v) for v in range(100)]
    assert quantile_bins(values, 5) == [v // 10 for v in range(100)]  # 10 bins of 10, by rank
    folds = regression_folds(values, 5, seed=0)
    for low in range(0, 100, 10):  # every decile of the target reaches every fold twice
        assert Counter(folds[low : low + 10]) == dict.fromkeys(range(5), 2)
