"""The HTML face of a tuning job in a notebook: status, counters, the best trial and the latest trials."""

from __future__ import annotations

import html
from typing import Any

from ..trials import Trial, best_trial, objective_value

#: Trials shown in the notebook table (the newest); the report has them all.
SHOWN = 20


def _e(value: Any) -> str:
    return html.escape(str(value))


def job_html(description: dict[str, Any], trials: list[Trial]) -> str:
    """A small self-contained HTML block (no scripts, no external assets); the best trial by ``trials.best_trial``."""
    name = description.get("HyperParameterTuningJobName", "?")
    status = description.get("HyperParameterTuningJobStatus", "?")
    objective = (description.get("HyperParameterTuningJobConfig") or {}).get("HyperParameterTuningJobObjective") or {}
    counters = description.get("TrainingJobStatusCounters") or {}
    head = (
        f"<p><b>{_e(name)}</b> &middot; {_e(status)} &middot; "
        f"{_e(objective.get('Type', ''))} {_e(objective.get('MetricName', ''))} &middot; "
        + ", ".join(f"{_e(k)} {_e(v)}" for k, v in counters.items() if v)
        + "</p>"
    )
    reason = description.get("FailureReason") or description.get("TuningJobCompletionReason")
    if reason:
        head += f"<p><i>{_e(reason)}</i></p>"
    best = best_trial(trials, objective.get("Type", "Maximize") == "Maximize")
    if best is not None:
        hps = ", ".join(f"{_e(k)}={_e(v)}" for k, v in best.hyperparameters.items())
        head += f"<p>best trial <code>{_e(best.name)}</code>: {_e(objective_value(best))} ({hps})</p>"
    names = sorted({k for t in trials for k in t.hyperparameters})
    header = "".join(f"<th>{_e(h)}</th>" for h in ("trial", "status", "objective", *names))
    rows = []
    for trial in trials[-SHOWN:]:
        value = objective_value(trial)
        cells = [trial.name, trial.status, "" if value is None else f"{value:.4g}"]
        cells += [trial.hyperparameters.get(n, "") for n in names]
        rows.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>")
    more = f"<p>(the last {SHOWN} of {len(trials)} trials)</p>" if len(trials) > SHOWN else ""
    return f"<div>{head}<table><tr>{header}</tr>{''.join(rows)}</table>{more}</div>"
