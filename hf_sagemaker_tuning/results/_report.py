"""``write_report``: one self-contained HTML file (summary, settings, best trial, plots, table)."""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import TuningError
from ._evaluation_html import test_score_section
from ._html import png_data_uri
from ._plots import PLOTS, draw_plots
from ._source import JobLike, JobResults, load
from ._table import best_hyperparameters, format_value, summary

if TYPE_CHECKING:  # pragma: no cover
    from ..backends.base import Backend

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.85em; } td, th { border: 1px solid #ccc; padding: 3px 7px; }
th { background: #f3f3f3; text-align: left; } pre { background: #f7f7f7; padding: 0.8em; }
img { max-width: 100%; } .note { color: #777; font-style: italic; } .gap { color: #b00; font-weight: bold; }
"""


def write_report(
    job: JobLike,
    out: str | os.PathLike[str] = "report.html",
    backend: str | Backend | None = None,
    *,
    jobs_dir: str | os.PathLike[str] | None = None,
    region: str | None = None,
    boto_session: Any | None = None,
) -> Path:
    """Write one self-contained HTML report of a tuning job; return its path.

    The page holds the summary, the job's settings (strategy, limits, objective, ranges), the
    best hyperparameters, the test score when one was saved (``hfst evaluate``: validation and
    test side by side with large gaps flagged, the test split's size, and the problem type's
    own view: per-class figures and a confusion matrix, per-label figures and a label
    co-occurrence heatmap, predicted-vs-true and residual plots, or per-entity-type figures and
    mistakes with their tokens), every plot as an embedded PNG (a plot that cannot be drawn, e.g.
    learning curves of a SageMaker job, is replaced by a note) and the results table.
    """
    results = load(job, backend, jobs_dir=jobs_dir, region=region, boto_session=boto_session)
    parts = [
        f"<h1>Tuning job {_e(results.name)}</h1>",
        f"<h2>Summary</h2><pre>{_e(summary(results, jobs_dir=jobs_dir))}</pre>",
        "<h2>Settings</h2>" + _kv_table(settings(results)),
        "<h2>Best hyperparameters</h2>",
    ]
    best = best_hyperparameters(results)
    parts.append(
        _kv_table({k: format_value(v) for k, v in best.items()})
        if best
        else '<p class="note">No trial has an objective value yet.</p>'
    )
    parts.extend(test_score_section(results))
    drawn, skipped = draw_plots(results, skip=TuningError)
    for name, title, _plot in PLOTS:
        parts.append(f"<h2>{_e(title)}</h2>")
        if name in skipped:
            parts.append(f'<p class="note">Not available: {_e(skipped[name])}</p>')
        else:
            parts.append(f'<img alt="{_e(title)}" src="{png_data_uri(drawn[name])}">')
    table = results.table()
    for column in table.columns:
        if table[column].dtype == "string":
            table[column] = table[column].fillna("")
    parts.append(f"<h2>Trials ({len(table)})</h2>")
    parts.append(table.to_html(index=False, na_rep="", float_format=lambda v: f"{v:.6g}", border=0))
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(results.name)} - tuning report</title><style>{_STYLE}</style></head><body>\n"
        + "\n".join(parts)
        + '\n<p class="note">Written by hf-sagemaker-tuning.</p></body></html>\n'
    )
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def settings(results: JobResults) -> dict[str, str]:
    """The job's request settings: backend, strategy, objective, limits, early stopping, seed, ranges."""
    config = results.config
    limits = config.get("ResourceLimits") or {}
    out = {
        "Backend": results.backend,
        "Status": results.status,
        "Strategy": str(config.get("Strategy", "")),
        "Objective": f"{results.objective_metric} ({results.direction})",
        "Max training jobs": str(limits.get("MaxNumberOfTrainingJobs", "")),
        "Max parallel training jobs": str(limits.get("MaxParallelTrainingJobs", "")),
        "Max runtime (s)": str(limits.get("MaxRuntimeInSeconds", "")),
        "Early stopping": str(config.get("TrainingJobEarlyStoppingType", "Off")),
        "Random seed": str(config.get("RandomSeed", "")),
    }
    strategy_config = (config.get("StrategyConfig") or {}).get("HyperbandStrategyConfig")
    if strategy_config:
        out["Hyperband resources"] = f"{strategy_config.get('MinResource')} to {strategy_config.get('MaxResource')}"
    for p in results.parameters:
        if p.kind == "categorical":
            out[f"Range {p.name}"] = "categorical: " + ", ".join(p.values)
        else:
            out[f"Range {p.name}"] = f"{p.kind} [{p.low:g}, {p.high:g}], {p.scaling}"
    return {k: v for k, v in out.items() if v != ""}


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _kv_table(rows: dict[str, str]) -> str:
    body = "".join(f"<tr><th>{_e(str(k))}</th><td>{_e(str(v))}</td></tr>" for k, v in rows.items())
    return f"<table>{body}</table>"
