"""Per-class counts and scores of class decisions, with numpy (scikit-learn's definitions).

Every classification metric of the package comes from here: precision, recall and F1 per class (a class
never true nor predicted scores 0, as scikit-learn's ``zero_division=0``), the confusion matrix and the
averages. Why not scikit-learn itself: importing it (scipy.stats with it) took about 1 s of the ~8 s a
small trial process spends starting on a CPU, in every trial and evaluation; the definitions are a few
lines of counting. Tests check every number against scikit-learn.
"""

from __future__ import annotations

import numpy as np


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator``, 0.0 where the denominator is 0."""
    return np.divide(numerator, denominator, out=np.zeros_like(numerator, dtype=np.float64), where=denominator > 0)


def per_label_scores(true: np.ndarray, predicted: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall, F1 and support of each label (columns of two boolean matrices, texts x labels)."""
    tp = (true & predicted).sum(axis=0).astype(np.float64)
    fp = (~true & predicted).sum(axis=0).astype(np.float64)
    fn = (true & ~predicted).sum(axis=0).astype(np.float64)
    return {
        "precision": ratio(tp, tp + fp),
        "recall": ratio(tp, tp + fn),
        "f1": ratio(2 * tp, 2 * tp + fp + fn),
        "support": true.sum(axis=0).astype(np.int64),
    }


def one_hot(ids: np.ndarray, num_classes: int) -> np.ndarray:
    """Class ids (each in ``range(num_classes)``) as a boolean matrix, one row per example."""
    ids = np.asarray(ids, dtype=np.int64)
    if ids.size and (ids.min() < 0 or ids.max() >= num_classes):
        raise ValueError(f"class ids must lie in 0..{num_classes - 1}, got {ids.min()}..{ids.max()}")
    return np.eye(num_classes, dtype=bool)[ids]


def per_class_scores(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> dict[str, np.ndarray]:
    """:func:`per_label_scores` of single-label class ids: each class against all the others."""
    return per_label_scores(one_hot(labels, num_classes), one_hot(predictions, num_classes))


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts of (true class, predicted class): rows true, columns predicted."""
    return one_hot(labels, num_classes).astype(np.int64).T @ one_hot(predictions, num_classes).astype(np.int64)
