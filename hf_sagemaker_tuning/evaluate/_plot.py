"""An evaluation's figures (matplotlib, no pyplot): the confusion matrix (single-label), the label
co-occurrence heatmap (multi-label), predicted vs true and the residuals (regression)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import BackendError
from ._result import Evaluation

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


def plot_confusion_matrix(evaluation: Evaluation) -> Figure:
    """Rows: true class; columns: predicted class; each cell shows its count, shaded by the row's share."""
    import numpy as np
    from matplotlib.figure import Figure

    counts = np.asarray(evaluation.confusion_matrix, dtype=float)
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    size = max(4.0, 0.9 * len(evaluation.label_names) + 2.0)
    fig = Figure(figsize=(size + 1.0, size), dpi=100)
    ax = fig.add_subplot()
    image = ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, label="share of the true class")
    ticks = range(len(evaluation.label_names))
    ax.set_xticks(list(ticks), evaluation.label_names, rotation=45, ha="right")
    ax.set_yticks(list(ticks), evaluation.label_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for row in ticks:
        for column in ticks:
            colour = "white" if shares[row, column] > 0.6 else "black"
            ax.text(column, row, f"{int(counts[row, column])}", ha="center", va="center", color=colour)
    name, value = evaluation.score
    ax.set_title(f"{evaluation.split}: {name} {value:.3f} ({evaluation.examples:,} examples)")
    fig.tight_layout()
    return fig


def plot_cooccurrence(evaluation: Evaluation) -> Figure:
    """Multi-label: how many texts carry both labels (true labels); the diagonal is each label's count.

    Raises:
        BackendError: the evaluation holds no co-occurrence counts (not a multi-label evaluation).
    """
    import numpy as np
    from matplotlib.figure import Figure

    cooccurrence = evaluation.details.get("cooccurrence") or {}
    labels = list(cooccurrence.get("labels") or [])
    if not labels:
        raise BackendError(f"the {evaluation.problem_type} evaluation holds no label co-occurrence counts")
    counts = np.asarray(cooccurrence["matrix"], dtype=float)
    size = max(4.0, 0.32 * len(labels) + 2.5)
    fig = Figure(figsize=(size + 1.5, size), dpi=100)
    ax = fig.add_subplot()
    image = ax.imshow(np.log1p(counts), cmap="Blues")
    fig.colorbar(image, ax=ax, label="texts with both labels (log(1 + n))")
    ticks = list(range(len(labels)))
    ax.set_xticks(ticks, labels, rotation=90, fontsize=7 if len(labels) > 12 else 9)
    ax.set_yticks(ticks, labels, fontsize=7 if len(labels) > 12 else 9)
    if len(labels) <= 12:  # counts stay readable on small matrices only
        top = counts.max() or 1.0
        for row in ticks:
            for column in ticks:
                colour = "white" if np.log1p(counts[row, column]) > 0.6 * np.log1p(top) else "black"
                ax.text(column, row, f"{int(counts[row, column])}", ha="center", va="center", color=colour, fontsize=8)
    ax.set_title(f"{evaluation.split}: label co-occurrence ({evaluation.examples:,} examples)")
    fig.tight_layout()
    return fig


def _points(evaluation: Evaluation) -> tuple[Any, Any]:
    import numpy as np

    points = evaluation.details.get("points") or {}
    true, predicted = np.asarray(points.get("true") or [], float), np.asarray(points.get("predicted") or [], float)
    if not len(true) or len(true) != len(predicted):
        raise BackendError(f"the {evaluation.problem_type} evaluation holds no predicted and true values")
    return true, predicted


def plot_predicted_vs_true(evaluation: Evaluation) -> Figure:
    """Regression: each example's prediction against its true value (original scale), with the diagonal.

    Raises:
        BackendError: the evaluation holds no points (not a regression evaluation).
    """
    from matplotlib.figure import Figure

    true, predicted = _points(evaluation)
    fig = Figure(figsize=(5.5, 5.0), dpi=100)
    ax = fig.add_subplot()
    ax.scatter(true, predicted, s=8, alpha=0.4, edgecolors="none")
    low, high = float(min(true.min(), predicted.min())), float(max(true.max(), predicted.max()))
    ax.plot([low, high], [low, high], color="grey", linewidth=1, linestyle="--", label="predicted = true")
    ax.set_xlabel("true")
    ax.set_ylabel("predicted")
    ax.legend(loc="upper left")
    name, value = evaluation.score
    shown = f"{len(true):,} of {evaluation.examples:,}" if len(true) < evaluation.examples else f"{len(true):,}"
    ax.set_title(f"{evaluation.split}: {name} {value:.3f} ({shown} examples)")
    fig.tight_layout()
    return fig


def plot_residuals(evaluation: Evaluation) -> Figure:
    """Regression: residual (predicted - true) against the prediction, and the residuals' histogram.

    Raises:
        BackendError: the evaluation holds no points (not a regression evaluation).
    """
    from matplotlib.figure import Figure

    true, predicted = _points(evaluation)
    residuals = predicted - true
    fig = Figure(figsize=(9.0, 4.0), dpi=100)
    scatter, histogram = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2, 1]})
    scatter.scatter(predicted, residuals, s=8, alpha=0.4, edgecolors="none")
    scatter.axhline(0.0, color="grey", linewidth=1, linestyle="--")
    scatter.set_xlabel("predicted")
    scatter.set_ylabel("residual (predicted - true)")
    histogram.hist(residuals, bins=min(40, max(5, len(residuals) // 10)), orientation="horizontal", color="tab:blue")
    histogram.axhline(0.0, color="grey", linewidth=1, linestyle="--")
    histogram.set_xlabel("examples")
    histogram.sharey(scatter)
    fig.suptitle(f"{evaluation.split}: residuals (mean {residuals.mean():+.3f}, std {residuals.std():.3f})")
    fig.tight_layout()
    return fig
