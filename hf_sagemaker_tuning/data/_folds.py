"""The fold assignment of k-fold cross-validation: one fold id per row, seeded, stratified by a stated rule.

Pure Python on label lists (cheap to test with hypothesis). The rules, by problem type:

- single-label classification: stratified by class (every class spread over the folds as evenly as it can
  be); a class with fewer rows than folds is refused (``too_small_classes``);
- multi-label classification: stratified by each text's *rarest* label (the label with the fewest texts
  over the whole pool; a text with no label is its own group), so rare labels reach every fold;
- regression: stratified by quantile bins of the target (``min(10, n // k)`` bins of equal count);
- token classification: plain seeded k-fold (texts shuffled, then dealt round-robin).

Why by hand and not scikit-learn's ``StratifiedKFold``: it warns on (and, below k rows in every group,
refuses) groups smaller than k, which the rarest-label groups and quantile bins legitimately are; the deal
below has one rule for every case: within each group the rows are shuffled and dealt round-robin, with the
dealing position carried from one group to the next, so fold sizes differ by at most one.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Hashable, Sequence
from typing import TypeVar

H = TypeVar("H", bound=Hashable)

#: Most quantile bins of a regression target.
MAX_BINS = 10
#: The rule written into the fold file, by problem type.
RULES = {
    "single_label_classification": "stratified by class",
    "multi_label_classification": "stratified by each text's rarest label",
    "regression": "stratified by quantile bins of the target",
    "token_classification": "plain seeded k-fold (texts shuffled, dealt round-robin)",
}


def deal(groups: Sequence[Hashable], folds: int, seed: int) -> list[int]:
    """One fold id in ``0..folds-1`` per row, each group spread over the folds as evenly as it can be.

    Groups are visited in order of first appearance; within a group the rows are shuffled by a generator
    seeded with ``seed``. Every fold gets ``len(groups) // folds`` or one more rows.
    """
    if folds < 2:
        raise ValueError(f"folds must be at least 2, not {folds}")
    if len(groups) < folds:
        raise ValueError(f"{len(groups)} row(s) cannot make {folds} folds")
    members: dict[Hashable, list[int]] = {}
    for index, group in enumerate(groups):
        members.setdefault(group, []).append(index)
    rng = random.Random(seed)
    out = [-1] * len(groups)
    position = 0
    for rows in members.values():
        shuffled = list(rows)
        rng.shuffle(shuffled)
        for row in shuffled:
            out[row] = position % folds
            position += 1
    return out


def too_small_classes(labels: Sequence[H], folds: int) -> dict[H, int]:
    """The classes with fewer rows than folds, with their counts (empty: every class fits)."""
    return {label: count for label, count in Counter(labels).items() if count < folds}


def single_label_folds(labels: Sequence[Hashable], folds: int, seed: int, stratified: bool = True) -> list[int]:
    """Folds for single-label classification: by class when ``stratified``, else plain seeded k-fold."""
    return deal(labels if stratified else [0] * len(labels), folds, seed)


def rarest_labels(label_sets: Sequence[Sequence[int]]) -> list[int | None]:
    """Each text's rarest label over the whole pool (ties: the smaller label id); ``None`` for no label."""
    counts = Counter(label for labels in label_sets for label in set(labels))
    return [min(set(labels), key=lambda lab: (counts[lab], lab)) if labels else None for labels in label_sets]


def multi_label_folds(label_sets: Sequence[Sequence[int]], folds: int, seed: int) -> list[int]:
    """Folds for multi-label classification: stratified by each text's rarest label."""
    return deal(rarest_labels(label_sets), folds, seed)


def quantile_bins(values: Sequence[float], folds: int) -> list[int]:
    """Each row's quantile bin of the target: ``min(10, n // folds)`` bins of equal count, by rank."""
    n = len(values)
    bins = max(1, min(MAX_BINS, n // folds))
    order = sorted(range(n), key=lambda i: (values[i], i))
    out = [0] * n
    for rank, row in enumerate(order):
        out[row] = rank * bins // n
    return out


def regression_folds(values: Sequence[float], folds: int, seed: int) -> list[int]:
    """Folds for regression: stratified by quantile bins of the target."""
    return deal(quantile_bins(values, folds), folds, seed)


def plain_folds(n: int, folds: int, seed: int) -> list[int]:
    """Plain seeded k-fold (token classification): rows shuffled, then dealt round-robin."""
    return deal([0] * n, folds, seed)
