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
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import DataError

if TYPE_CHECKING:
    from ..specs.cross_validation import CrossValidationSpec

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


def fold_options(cross_validation: CrossValidationSpec) -> dict[str, Any]:
    """The options that shape the fold assignment (not ``keep_fold_models``, which only the trials read)."""
    return cross_validation.model_dump(mode="json", exclude={"keep_fold_models"})


def assign_folds(
    cross_validation: CrossValidationSpec,
    ids: dict[str, list[Any]],
    names: list[str],
    problem_type: str = "single_label_classification",
) -> dict[str, Any]:
    """The fold file's content: one fold id per row of train (and validation, when it joins the pool).

    The rule per problem type is ``RULES`` (``stratified: false`` deals every type's rows plainly);
    a single-label class with fewer rows than folds is refused.
    """
    sources = ["train", "validation"] if cross_validation.use_validation and "validation" in ids else ["train"]
    pool = [label for name in sources for label in ids[name]]
    k, seed = cross_validation.folds, cross_validation.seed
    if problem_type == "single_label_classification":
        small = too_small_classes(pool, k)
        if small:
            counts = ", ".join(f"{names[label]!r} has {count}" for label, count in sorted(small.items()))
            raise DataError(
                f"tuning.cross_validation.folds is {k}, but class(es) {counts} example(s) in "
                f"{' + '.join(sources)}: every class needs at least as many examples as folds; use fewer folds"
            )
    if len(pool) < k:
        raise DataError(
            f"tuning.cross_validation.folds is {k}, but {' + '.join(sources)} hold(s) only {len(pool)} "
            "example(s): every fold needs at least one; use fewer folds"
        )
    if not cross_validation.stratified or problem_type == "token_classification":
        rule, assigned = RULES["token_classification"], plain_folds(len(pool), k, seed)
    elif problem_type == "multi_label_classification":
        rule, assigned = RULES[problem_type], multi_label_folds(pool, k, seed)
    elif problem_type == "regression":
        rule, assigned = RULES[problem_type], regression_folds(pool, k, seed)
    else:
        rule, assigned = RULES[problem_type], single_label_folds(pool, k, seed)
    out: dict[str, Any] = {**fold_options(cross_validation), "rule": rule, "sources": sources}
    start = 0
    for name in sources:
        out[name] = assigned[start : start + len(ids[name])]
        start += len(ids[name])
    return out


def fold_summary(folds: dict[str, Any]) -> dict[str, Any]:
    """The manifest's view of the fold file: options, rule and each fold's size (not every row's fold)."""
    sizes = [0] * int(folds["folds"])
    for name in folds["sources"]:
        for fold in folds[name]:
            sizes[fold] += 1
    return {key: value for key, value in folds.items() if key not in ("train", "validation")} | {"sizes": sizes}
