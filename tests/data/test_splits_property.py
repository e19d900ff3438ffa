"""Properties of the seeded, stratified selection behind the validation carve-out and the sample caps."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from hf_sagemaker_tuning.data import stratified_pick
from hf_sagemaker_tuning.data._splits import carve_size

labels_lists = st.lists(st.integers(min_value=0, max_value=4), min_size=2, max_size=300)


@settings(max_examples=200, deadline=None)
@given(labels=labels_lists, fraction=st.floats(min_value=0.01, max_value=0.5), seed=st.integers(0, 2**32))
def test_carve_out_is_disjoint_complete_and_stratified(labels: list[int], fraction: float, seed: int) -> None:
    k = carve_size(len(labels), fraction)
    assert 1 <= k <= len(labels) - 1
    picked, rest = stratified_pick(labels, k, seed)
    assert len(picked) == k
    assert set(picked).isdisjoint(rest) and sorted(picked + rest) == list(range(len(labels)))
    assert picked == sorted(picked) and rest == sorted(rest)
    got = Counter(labels[i] for i in picked)
    for label, n in Counter(labels).items():
        exact = n * k / len(labels)
        assert int(exact) <= got[label] <= int(exact) + 1  # each class keeps its share, to one row
    assert stratified_pick(labels, k, seed) == (picked, rest)  # seeded: the same every time


@settings(max_examples=100, deadline=None)
@given(labels=labels_lists, data=st.data())
def test_any_size_including_edges(labels: list[int], data: st.DataObject) -> None:
    k = data.draw(st.integers(min_value=0, max_value=len(labels)))
    picked, rest = stratified_pick(labels, k, seed=7)
    assert len(picked) == k and len(rest) == len(labels) - k
