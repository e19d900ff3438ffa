"""Seeded, stratified selection of rows: the validation carve-out and the sample caps.

Pure Python on label lists, so it is cheap to test with hypothesis.
"""

from __future__ import annotations

import random
from collections.abc import Hashable, Sequence


def stratified_pick(labels: Sequence[Hashable], k: int, seed: int) -> tuple[list[int], list[int]]:
    """Pick ``k`` row indices so that every label keeps (about) its share.

    Each label gets ``floor(n_label * k / n)`` rows; the rows left over go to the labels
    with the largest remainders (ties broken by first appearance). Within a label the
    rows are chosen by a generator seeded with ``seed``.

    Args:
        labels: One label per row.
        k: How many rows to pick, ``0 <= k <= len(labels)``.
        seed: Seed of the random choice.

    Returns:
        ``(picked, rest)``: two disjoint lists of row indices, each in ascending order,
        that together hold every row once.
    """
    n = len(labels)
    if not 0 <= k <= n:
        raise ValueError(f"cannot pick {k} rows out of {n}")
    groups: dict[Hashable, list[int]] = {}
    for index, label in enumerate(labels):
        groups.setdefault(label, []).append(index)
    quotas: dict[Hashable, int] = {}
    remainders: list[tuple[float, int, Hashable]] = []
    for order, (label, rows) in enumerate(groups.items()):
        exact = len(rows) * k / n if n else 0.0
        quotas[label] = int(exact)
        remainders.append((exact - int(exact), -order, label))
    missing = k - sum(quotas.values())
    for _, _, label in sorted(remainders, reverse=True)[:missing]:
        quotas[label] += 1
    rng = random.Random(seed)
    picked: list[int] = []
    for label, rows in groups.items():
        shuffled = list(rows)
        rng.shuffle(shuffled)
        picked.extend(shuffled[: quotas[label]])
    chosen = set(picked)
    return sorted(picked), [i for i in range(n) if i not in chosen]


def carve_size(n_rows: int, fraction: float) -> int:
    """Rows to carve out of ``n_rows`` for a validation fraction: at least one, leaving at least one."""
    return min(max(1, round(n_rows * fraction)), n_rows - 1)
