"""A live view of a tuning job (rich), for the CLI, the quickstart and notebooks."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..ranges import format_value

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console, RenderableType

    from ..trials import Trial
    from .base import Backend


# Wide enough for any line this module prints; rich pads nothing beyond what a line needs.
_UNWRAPPED = 100_000


def best_value(answer: dict[str, Any], trials: list[Trial]) -> float | None:
    """The best trial's objective value (``trials.best_trial``, the one rule), or ``None`` yet."""
    from ..trials import best_trial
    from .base import maximize

    best = best_trial(trials, maximize(answer))
    return None if best is None else best.objective


def render(answer: dict[str, Any], trials: list[Trial], started: float, limit: int | None) -> RenderableType:
    """Counters, best value, elapsed time and the last trials, as one rich renderable."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    counters = answer.get("TrainingJobStatusCounters", {})
    done = counters.get("Completed", 0)
    failed = counters.get("NonRetryableError", 0) + counters.get("RetryableError", 0)
    stopped = counters.get("Stopped", 0)
    running = counters.get("InProgress", 0)
    best = best_value(answer, trials)
    head = Text.assemble(
        (f"{answer['HyperParameterTuningJobName']}  ", "bold"),
        (f"{answer['HyperParameterTuningJobStatus']}  ", "cyan"),
        f"done {done}  running {running}  failed {failed}  stopped {stopped}",
        f"  of {limit}" if limit else "",
        f"  best {best:.4g}" if isinstance(best, float) else "",
        f"  elapsed {int(time.monotonic() - started)} s",
    )
    shown = trials[-8:]
    # One column per tuned parameter: each value whole (a narrow terminal folds a cell, never cuts it).
    tuned = list(dict.fromkeys(name for trial in shown for name in trial.hyperparameters))
    table = Table(box=None, pad_edge=False)
    for column in ("trial", "status", "objective", *tuned):
        table.add_column(column, overflow="fold")
    for trial in shown:
        value = trial.objective
        hps = trial.hyperparameters
        table.add_row(
            trial.name[-12:],
            trial.status,
            "" if value is None else f"{value:.4g}",
            *(short_value(hps[name]) if name in hps else "" for name in tuned),
        )
    return Group(head, table)


def short_value(value: Any) -> str:
    """A hyperparameter value for a narrow column: numbers to 6 significant digits, the rest as sent.

    SageMaker sends every value as a string (``ranges.format_value``): ``"3.2145678901234e-05"``
    reads ``3.21457e-05``; integers and categorical values are shown as they are.
    """
    text = format_value(value)
    try:
        number = float(text)
    except ValueError:
        return text
    if number.is_integer() and "." not in text and "e" not in text.lower():
        return text
    return f"{number:.6g}"


def print_whole(console: Console, renderable: RenderableType | str) -> None:
    """Print ``renderable``; off a terminal (a log, CI, a pipe) each line is printed whole.

    rich wraps at the console's width, 80 columns when the output is not a terminal; a log line
    cut in two is harder to read and to grep, so off a terminal the width is only what the lines need.
    """
    if console.is_terminal or console.is_jupyter:
        console.print(renderable, markup=False, highlight=False)
        return
    width = console.width
    console.width = _UNWRAPPED
    try:
        console.print(renderable, markup=False, highlight=False, soft_wrap=False)
    finally:
        console.width = width


def progress_line(answer: dict[str, Any], trials: list[Trial], started: float, limit: int | None) -> str:
    """One plain line of progress, for logs and CI (no terminal control codes)."""
    counters = answer.get("TrainingJobStatusCounters", {})
    failed = counters.get("NonRetryableError", 0) + counters.get("RetryableError", 0)
    best = best_value(answer, trials)
    parts = [
        f"{answer['HyperParameterTuningJobName']}: {answer['HyperParameterTuningJobStatus']}",
        f"done {counters.get('Completed', 0)}" + (f" of {limit}" if limit else ""),
        f"running {counters.get('InProgress', 0)}",
        f"failed {failed}",
        f"stopped {counters.get('Stopped', 0)}",
    ]
    if isinstance(best, float):
        parts.append(f"best {best:.4g}")
    parts.append(f"elapsed {int(time.monotonic() - started)} s")
    return ", ".join(parts)


def follow(
    backend: Backend,
    job: str,
    console: Console,
    limit: int | None = None,
    poll: float = 0.5,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Follow the job until it ends; Ctrl-C stops it cleanly (resumable).

    On a terminal (or in a notebook) the view is live; elsewhere (CI, a log file) one plain line
    is printed each time the counters or the best value change, so the log shows progress as it
    happens, not only at the end.

    Raises:
        BackendError: the job did not end within ``timeout`` seconds (it keeps running).
    """
    from rich.live import Live

    from ..errors import BackendError
    from .base import JOB_TERMINAL

    started = time.monotonic()
    deadline = None if timeout is None else started + timeout
    if limit is None:
        limit = _trial_limit(backend.describe(job))
    live_view = console.is_terminal or console.is_jupyter
    last_line = ""
    with Live(console=console, refresh_per_second=4, transient=False) if live_view else _NoLive() as live:
        try:
            while True:
                answer = backend.describe(job)
                if live_view:
                    live.update(render(answer, backend.list_trials(job), started, limit))
                else:
                    line = progress_line(answer, backend.list_trials(job), started, limit)
                    if line.rsplit(", elapsed", 1)[0] != last_line.rsplit(", elapsed", 1)[0]:
                        print_whole(console, line)
                        last_line = line
                if answer["HyperParameterTuningJobStatus"] in JOB_TERMINAL:
                    break
                if deadline is not None and time.monotonic() > deadline:
                    raise BackendError(f"tuning job {job!r} did not finish within {timeout} s (it is still running)")
                time.sleep(poll)
        except KeyboardInterrupt:
            console.print("[yellow]stopping the job: running trials are ended cleanly...[/]")
            backend.stop(job)
            answer = backend.wait(job, poll_seconds=0.5, timeout=120)
            if live_view:
                live.update(render(answer, backend.list_trials(job), started, limit))
            else:
                print_whole(console, progress_line(answer, backend.list_trials(job), started, limit))
    if live_view:
        console.line()
    return answer


def _trial_limit(answer: dict[str, Any]) -> int | None:
    limits = (answer.get("HyperParameterTuningJobConfig") or {}).get("ResourceLimits") or {}
    value = limits.get("MaxNumberOfTrainingJobs")
    return int(value) if value is not None else None


class _NoLive:
    """Stands in for ``rich.live.Live`` when the output is not a terminal."""

    def __enter__(self) -> _NoLive:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def update(self, _renderable: object) -> None:  # pragma: no cover - never called off a terminal
        return None
