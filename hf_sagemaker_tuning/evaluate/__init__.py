"""The honest final score: the chosen model scored once on the held-out test split.

``evaluate(job)`` scores the job's best model (or a given one) on a prepared split with the
bundled package's evaluation-only mode (``training/evaluate.py``), through the job's backend:
the metric line's figures with the task's official metric (``eval_official``) and the problem
type's own view: per-class precision, recall, F1 and support and the confusion matrix
(single-label), per-label figures and label co-occurrence (multi-label), predicted and true
values (regression), per-entity-type figures and a few mistakes (token classification). Results are kept with the job
(one per model and split) and shown by ``hfst results``, ``hfst status`` and the report.
Importing this package is cheap (no torch, pandas or matplotlib).
"""

from __future__ import annotations

from ._plot import plot_confusion_matrix, plot_cooccurrence, plot_predicted_vs_true, plot_residuals
from ._problem_types import PROBLEM_TYPES
from ._result import LARGE_GAP, LARGE_RELATIVE_GAP, Evaluation, read_log
from ._run import evaluate
from ._store import latest_evaluation, saved_evaluations

__all__ = [
    "LARGE_GAP",
    "LARGE_RELATIVE_GAP",
    "PROBLEM_TYPES",
    "Evaluation",
    "evaluate",
    "latest_evaluation",
    "plot_confusion_matrix",
    "plot_cooccurrence",
    "plot_predicted_vs_true",
    "plot_residuals",
    "read_log",
    "saved_evaluations",
]
