"""The confusion matrix of an evaluation as a matplotlib figure (counts, and each row's share as colour)."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
