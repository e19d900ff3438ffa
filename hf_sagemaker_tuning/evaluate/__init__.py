"""The honest final score: the chosen model scored once on the held-out test split.

``evaluate(job)`` scores the job's best model (or a given one) on a prepared split with the
bundled package's evaluation-only mode (``training/evaluate.py``), through the job's backend:
the metric line's figures with the task's official metric (``eval_official``), per-class
precision, recall, F1 and support, and the confusion matrix. Results are kept with the job
(one per model and split) and shown by ``hfst results``, ``hfst status`` and the report.
Importing this package is cheap (no torch, pandas or matplotlib).
"""

from __future__ import annotations

from ._plot import plot_confusion_matrix
from ._result import LARGE_GAP, Evaluation, read_log
from ._run import evaluate
from ._store import latest_evaluation, saved_evaluations

__all__ = [
    "LARGE_GAP",
    "Evaluation",
    "evaluate",
    "latest_evaluation",
    "plot_confusion_matrix",
    "read_log",
    "saved_evaluations",
]
