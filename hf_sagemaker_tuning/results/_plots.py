"""Plots of a tuning job's results, each a ``matplotlib.figure.Figure`` (shown inline in notebooks).

Figures are built without pyplot (no global state, no GUI backend needed) and saved as PNG
at ``DPI`` when ``out`` is given: objective by trial with the best so far, each parameter
against the objective, parallel coordinates, parameter importance, learning curves.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import BackendError, TuningError
from ..ranges import ParameterRange
from ._importance import parameter_importance
from ._source import JobLike, JobResults, load
from ._table import best_trial_name, require

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from ..backends.base import Backend

#: Resolution of saved PNGs (pixels per inch); a figure of ``w x h`` inches is ``w*DPI x h*DPI`` pixels.
DPI = 100
_BEST = "#d62728"
_CMAP = "viridis"

PathLike = str | os.PathLike[str]


def _figure(width: float, height: float) -> Figure:
    require("matplotlib")
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _finish(fig: Figure, out: PathLike | None) -> Figure:
    if out is not None:
        fig.savefig(os.fspath(out), format="png", dpi=DPI)
    return fig


def _integer_ticks(ax: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _load(job: JobLike, backend: str | Backend | None, where: dict[str, Any]) -> JobResults:
    return load(job, backend, **where)


def _launch_ordered(results: JobResults) -> Any:
    """The table in launch order (the trials' order), not best-first."""
    table = results.table()
    order = {t.name: i for i, t in enumerate(results.trials)}
    table["_launch"] = table["TrainingJobName"].map(order).astype("int64")
    return table.sort_values("_launch").reset_index(drop=True)


def plot_objective(
    job: JobLike, backend: str | Backend | None = None, *, out: PathLike | None = None, **where: Any
) -> Figure:
    """The objective of each trial in launch order, with the best-so-far line.

    Args:
        job: local job folder or name, SageMaker tuning job name, or a loaded ``JobResults``.
        backend: ``"local"``, ``"sagemaker"``, a ``Backend`` instance, or ``None`` (auto).
        out: save the figure as a PNG here too.
        **where: ``jobs_dir``, ``region``, ``boto_session`` (see ``load``).
    """
    results = _load(job, backend, where)
    table = _launch_ordered(results)
    fig = _figure(8, 4.5)
    ax = fig.add_subplot()
    trial = table.index.to_numpy() + 1
    value = table["FinalObjectiveValue"].to_numpy(dtype=float)
    ok = table["FinalObjectiveValue"].notna().to_numpy(dtype=bool)
    ax.scatter(trial[ok], value[ok], s=28, color="#1f77b4", label="trial", zorder=3)
    best = table["FinalObjectiveValue"].cummax() if results.maximize else table["FinalObjectiveValue"].cummin()
    ax.step(trial, best.to_numpy(dtype=float), where="post", color=_BEST, label="best so far")
    failed = table["FinalObjectiveValue"].isna().to_numpy()
    if failed.any():
        floor = float(value[ok].min()) if ok.any() else 0.0
        ax.scatter(trial[failed], [floor] * int(failed.sum()), marker="x", color="grey", label="no objective")
    ax.set_xlabel("trial (launch order)")
    _integer_ticks(ax)
    ax.set_ylabel(f"{results.objective_metric} ({results.direction.lower()})")
    ax.set_title(f"{results.name}: objective by trial")
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    return _finish(fig, out)


def plot_parameters(
    job: JobLike, backend: str | Backend | None = None, *, out: PathLike | None = None, **where: Any
) -> Figure:
    """One panel per tuned parameter against the objective (log x-axis for Logarithmic ranges)."""
    results = _load(job, backend, where)
    params = results.parameters
    if not params:
        raise BackendError(f"tuning job {results.name!r} tunes no hyperparameter")
    table = results.table()
    table = table[table["FinalObjectiveValue"].notna()]
    cols = min(3, len(params))
    rows = math.ceil(len(params) / cols)
    fig = _figure(4.0 * cols, 3.5 * rows)
    best_name = best_trial_name(results)
    for i, p in enumerate(params):
        ax = fig.add_subplot(rows, cols, i + 1)
        y = table["FinalObjectiveValue"].to_numpy(dtype=float)
        is_best = (table["TrainingJobName"] == best_name).to_numpy(dtype=bool)
        if p.kind == "categorical":
            index = {v: k for k, v in enumerate(p.values)}
            x = [float(index.get(str(v), -1)) for v in table[p.name]]
            ax.set_xticks(range(len(p.values)), list(p.values))
            ax.set_xlim(-0.5, len(p.values) - 0.5)
        else:
            x = [float(v) for v in table[p.name]]
            if p.log:
                ax.set_xscale("log")
        ax.scatter(x, y, s=24, alpha=0.8, color="#1f77b4")
        if is_best.any():
            bx = [v for v, b in zip(x, is_best, strict=True) if b]
            ax.scatter(bx, y[is_best], s=120, marker="*", color=_BEST, label="best", zorder=3)
        ax.set_xlabel(p.name + (" (log)" if p.log else ""))
        ax.set_ylabel(results.objective_metric)
        ax.grid(alpha=0.3)
    fig.suptitle(f"{results.name}: parameters vs {results.objective_metric}")
    return _finish(fig, out)


def _normalized(p: ParameterRange, values: Any) -> list[float]:
    """Each value's place on its axis, 0 to 1, in the range's own scale (see ``ParameterRange.normalize``)."""
    return [p.normalize(v) for v in values]


def plot_parallel_coordinates(
    job: JobLike, backend: str | Backend | None = None, *, out: PathLike | None = None, **where: Any
) -> Figure:
    """Parallel coordinates: one normalized axis per parameter plus the objective, lines colored by objective."""
    results = _load(job, backend, where)
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    params = results.parameters
    table = results.table()
    table = table[table["FinalObjectiveValue"].notna()]
    fig = _figure(max(6.0, 1.8 * (len(params) + 1) + 1.5), 4.5)
    ax = fig.add_subplot()
    objective = table["FinalObjectiveValue"].to_numpy(dtype=float)
    lo, hi = (float(objective.min()), float(objective.max())) if len(objective) else (0.0, 1.0)
    norm = Normalize(vmin=lo, vmax=hi if hi > lo else lo + 1.0)
    mappable = ScalarMappable(norm=norm, cmap=_CMAP)
    axes = [_normalized(p, table[p.name]) for p in params]
    axes.append([0.5 if hi == lo else (v - lo) / (hi - lo) for v in objective])
    xs = list(range(len(axes)))
    order = sorted(range(len(objective)), key=lambda k: objective[k] if results.maximize else -objective[k])
    for k in order:  # best drawn last, on top
        ax.plot(xs, [a[k] for a in axes], color=mappable.to_rgba(objective[k]), alpha=0.8, linewidth=1.5)
    labels = [p.name + (" (log)" if p.log else "") for p in params] + [results.objective_metric]
    for x, p in zip(xs, [*params, None], strict=True):
        ax.axvline(x, color="black", linewidth=0.8)
        if p is None:
            top, bottom = f"{hi:.4g}", f"{lo:.4g}"
        elif p.kind == "categorical":
            top, bottom = (p.values[-1], p.values[0]) if p.values else ("", "")
        else:
            top, bottom = f"{p.high:.4g}", f"{p.low:.4g}"
        ax.text(x, 1.02, top, ha="center", va="bottom", fontsize=8)
        ax.text(x, -0.02, bottom, ha="center", va="top", fontsize=8)
    ax.set_xticks(xs, labels)
    ax.set_ylim(-0.12, 1.12)
    ax.set_yticks([])
    ax.set_title(f"{results.name}: parallel coordinates", pad=18)
    fig.colorbar(mappable, ax=ax, label=results.objective_metric)
    return _finish(fig, out)


def plot_importance(
    job: JobLike,
    backend: str | Backend | None = None,
    *,
    out: PathLike | None = None,
    evaluator: str = "fanova",
    seed: int = 0,
    **where: Any,
) -> Figure:
    """Parameter importance (see ``parameter_importance``) as horizontal bars."""
    results = _load(job, backend, where)
    importance = parameter_importance(results, evaluator=evaluator, seed=seed)
    fig = _figure(7, max(2.5, 0.6 * len(importance) + 1.5))
    ax = fig.add_subplot()
    names = list(importance)[::-1]
    ax.barh(names, [importance[n] for n in names], color="#1f77b4")
    ax.set_xlabel(f"importance ({'fANOVA' if evaluator == 'fanova' else 'mean decrease in impurity'})")
    ax.set_xlim(0, 1)
    ax.set_title(f"{results.name}: parameter importance for {results.objective_metric}")
    ax.grid(axis="x", alpha=0.3)
    return _finish(fig, out)


def plot_learning_curves(
    job: JobLike,
    backend: str | Backend | None = None,
    *,
    out: PathLike | None = None,
    metric: str | None = None,
    **where: Any,
) -> Figure:
    """Each trial's metric by evaluation (default: the objective), colored by the final objective.

    Raises:
        BackendError: the backend keeps no per-evaluation values (SageMaker), or no trial emitted the metric.
    """
    results = _load(job, backend, where)
    name = metric or results.objective_metric
    table = results.table()
    final = dict(zip(table["TrainingJobName"], table["FinalObjectiveValue"].to_numpy(dtype=float), strict=True))
    series = {}
    for t in results.trials:
        values = results.curves(t.name).get(name) or []
        if values:
            series[t.name] = values
    if not series:
        raise BackendError(f"no trial of job {results.name!r} emitted metric {name!r}")
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    known = [v for v in final.values() if not math.isnan(v)]
    lo, hi = (min(known), max(known)) if known else (0.0, 1.0)
    mappable = ScalarMappable(norm=Normalize(vmin=lo, vmax=hi if hi > lo else lo + 1.0), cmap=_CMAP)
    best = best_trial_name(results)
    fig = _figure(8, 4.5)
    ax = fig.add_subplot()
    for trial, values in series.items():
        steps = range(1, len(values) + 1)
        value = final.get(trial, math.nan)
        color = "grey" if math.isnan(value) else mappable.to_rgba(value)
        if trial == best:
            ax.plot(steps, values, color=_BEST, linewidth=2.5, label=f"best ({trial})", zorder=3)
        else:
            ax.plot(steps, values, color=color, linewidth=1.2, alpha=0.8)
    ax.set_xlabel("evaluation")
    _integer_ticks(ax)
    ax.set_ylabel(name)
    ax.set_title(f"{results.name}: learning curves ({name})")
    ax.grid(alpha=0.3)
    if best in series:
        ax.legend(loc="best")
    fig.colorbar(mappable, ax=ax, label=f"final {results.objective_metric}")
    return _finish(fig, out)


#: Every plot of a job, in the report's order: name (``TuningJob.plots``' key), title, function.
PLOTS: tuple[tuple[str, str, Callable[..., Figure]], ...] = (
    ("objective", "Objective by trial", plot_objective),
    ("parameters", "Parameters vs objective", plot_parameters),
    ("parallel_coordinates", "Parallel coordinates", plot_parallel_coordinates),
    ("importance", "Parameter importance", plot_importance),
    ("learning_curves", "Learning curves", plot_learning_curves),
)


def draw_plots(
    results: JobResults, *, skip: type[TuningError] = BackendError
) -> tuple[dict[str, Figure], dict[str, str]]:
    """Every plot of ``PLOTS`` that can be drawn, by name, and why each other one was skipped (name -> reason).

    A plot the job's trials cannot make (e.g. parameter importance of a single completed trial,
    learning curves of a SageMaker job) is skipped; ``skip`` says which errors mean that.

    Raises:
        TuningError: drawing a plot failed for another reason (e.g. matplotlib is not installed).
    """
    drawn: dict[str, Figure] = {}
    skipped: dict[str, str] = {}
    for name, _title, plot in PLOTS:
        try:
            drawn[name] = plot(results)
        except skip as exc:
            skipped[name] = str(exc)
    return drawn, skipped
