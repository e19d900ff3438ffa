"""A live view of a tuning job (rich), for the CLI, the quickstart and notebooks."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console, RenderableType

    from .base import Backend


def render(answer: dict[str, Any], trials: list[dict[str, Any]], started: float, limit: int | None) -> RenderableType:
    """Counters, best value, elapsed time and the last trials, as one rich renderable."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    counters = answer.get("TrainingJobStatusCounters", {})
    done = counters.get("Completed", 0)
    failed = counters.get("NonRetryableError", 0) + counters.get("RetryableError", 0)
    stopped = counters.get("Stopped", 0)
    running = counters.get("InProgress", 0)
    best = answer.get("BestTrainingJob", {}).get("FinalHyperParameterTuningJobObjectiveMetric", {}).get("Value")
    head = Text.assemble(
        (f"{answer['HyperParameterTuningJobName']}  ", "bold"),
        (f"{answer['HyperParameterTuningJobStatus']}  ", "cyan"),
        f"done {done}  running {running}  failed {failed}  stopped {stopped}",
        f"  of {limit}" if limit else "",
        f"  best {best:.4g}" if isinstance(best, float) else "",
        f"  elapsed {int(time.monotonic() - started)} s",
    )
    table = Table(box=None, pad_edge=False)
    for column in ("trial", "status", "objective", "hyperparameters"):
        table.add_column(column)
    for trial in trials[-8:]:
        value = trial.get("FinalHyperParameterTuningJobObjectiveMetric", {}).get("Value")
        hps = " ".join(f"{k}={v}" for k, v in trial["TunedHyperParameters"].items())
        table.add_row(
            trial["TrainingJobName"][-12:],
            trial["TrainingJobStatus"],
            "" if value is None else f"{value:.4g}",
            hps[:80],
        )
    return Group(head, table)


def follow(backend: Backend, job: str, console: Console, limit: int | None = None, poll: float = 0.5) -> dict[str, Any]:
    """A live view of the job until it ends; Ctrl-C stops it cleanly (resumable)."""
    from rich.live import Live

    from .base import JOB_TERMINAL

    started = time.monotonic()
    answer = backend.describe(job)
    with Live(console=console, refresh_per_second=4, transient=False) as live:
        try:
            while True:
                answer = backend.describe(job)
                live.update(render(answer, backend.list_trials(job), started, limit))
                if answer["HyperParameterTuningJobStatus"] in JOB_TERMINAL:
                    break
                time.sleep(poll)
        except KeyboardInterrupt:
            live.console.print("[yellow]stopping the job: running trials are ended cleanly...[/]")
            backend.stop(job)
            answer = backend.wait(job, poll_seconds=0.5, timeout=120)
            live.update(render(answer, backend.list_trials(job), started, limit))
    console.line()
    return answer
