"""Results of a tuning job, from either backend: the table, the best trial, plots, importance, a report.

``results_table`` gives AMT's analytics columns with the same dtypes for a local job and a
SageMaker job; the plot functions return ``matplotlib`` figures; ``write_report`` writes one
self-contained HTML file. Importing this package is cheap: pandas, matplotlib, optuna and
boto3 are imported only when results are read or drawn.
"""

from __future__ import annotations

from ._importance import parameter_importance
from ._plots import (
    DPI,
    draw_plots,
    plot_importance,
    plot_learning_curves,
    plot_objective,
    plot_parallel_coordinates,
    plot_parameters,
)
from ._report import write_report
from ._source import JobResults, TunedParameter, load
from ._table import TRIAL_COLUMNS, best_trial, results_table, summary

__all__ = [
    "DPI",
    "TRIAL_COLUMNS",
    "JobResults",
    "TunedParameter",
    "best_trial",
    "draw_plots",
    "load",
    "parameter_importance",
    "plot_importance",
    "plot_learning_curves",
    "plot_objective",
    "plot_parallel_coordinates",
    "plot_parameters",
    "results_table",
    "summary",
    "write_report",
]
