"""``hfst retrain`` and ``hfst narrow``: the next steps after a tuning job."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from ._common import (
    BackendOpt,
    JobArg,
    JobsDirOpt,
    OutputOpt,
    RegionOpt,
    console,
    positive,
    resolve,
    user_errors,
    write_text,
)

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console
    from rich.status import Status


class Keep(str, Enum):
    last = "last"
    best = "best"


class Rule(str, Enum):
    best_mean = "best_mean"
    one_standard_error = "one_standard_error"


def retrain_command(
    job: JobArg,
    epochs: Annotated[
        float | None, typer.Option(callback=positive, help="Train this many epochs (default: as tuned).")
    ] = None,
    keep: Annotated[
        Keep, typer.Option(help="Keep the last model, or the checkpoint best by the job's objective.")
    ] = Keep.last,
    allow_running: Annotated[
        bool, typer.Option("--allow-running", help="Retrain the best trial so far of a job that is still running.")
    ] = False,
    refit: Annotated[
        bool,
        typer.Option(
            "--refit",
            help="Cross-validated job: train the chosen configuration on all folds' data for the folds' mean "
            "number of steps, keeping the last model.",
        ),
    ] = False,
    selection: Annotated[
        Rule | None,
        typer.Option(help="Which trial: best_mean, or one_standard_error (default: the spec's tuning.selection)."),
    ] = None,
    backend: BackendOpt = None,
    jobs_dir: JobsDirOpt = Path("jobs"),
    region: RegionOpt = None,
) -> None:
    """Train the best configuration again, e.g. longer, on the job's backend; deploy then serves it."""
    from ..refine import RetrainResult, retrain
    from ..specs.cross_validation import base_metric

    out = console()
    progress = RetrainProgress(console(stderr=True))

    def run() -> RetrainResult:
        runner, job_id = resolve(job, backend, jobs_dir, region)
        local = runner.cloud is None  # runs here in the foreground; in the cloud it is followed in its console
        if local:
            metric = runner.describe(job_id)["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
            name = str(metric["MetricName"])
            runner.on_metric = progress.metric_watcher(base_metric(name) if refit else name)
        with progress if local else contextlib.nullcontext():
            return retrain(
                job_id,
                runner,
                epochs=epochs,
                keep=keep.value,
                wait=local,
                allow_running=allow_running,
                notify=progress.line,
                refit=refit,
                selection=None if selection is None else selection.value,
            )

    result = user_errors(run)
    out.print(f"{result.training_job_name}: [bold]{result.status}[/]")
    if result.failure_reason:
        out.print(f"[red]{result.failure_reason}[/]", markup=False)
        raise typer.Exit(1)
    if result.status == "Completed":
        objective = "" if result.objective is None else f"objective = {result.objective:.6g}; "
        out.print(f"{objective}model: {result.model}", markup=False)
        if result.kept:
            out.print(f"kept: {result.kept}", markup=False)
        out.print("hfst deploy now serves this model")
    else:
        out.print(f"follow it in the SageMaker console; once Completed, hfst deploy -b sagemaker {job} serves it")


class RetrainProgress:
    """``hfst retrain``'s progress on stderr: one plain line per step (started, each evaluation).

    On a terminal a spinner shows the latest line as well; off one (CI, a log) only the lines are
    printed, whole, so a long local retrain never looks stuck.
    """

    def __init__(self, err: Console):
        self.err = err
        self.evaluations = 0
        self._status: Status | None = None

    def line(self, text: str) -> None:
        from ..backends.progress import print_whole

        print_whole(self.err, text)
        if self._status is not None:
            self._status.update(f"[bold]retraining[/] - {escape(text)}")

    def metric_watcher(self, objective: str) -> Callable[[str, float], None]:
        """The local backend's ``on_metric`` hook: one line per evaluation of the objective metric."""

        def seen(name: str, value: float) -> None:
            if name == objective:
                self.evaluations += 1
                self.line(f"evaluation {self.evaluations}: {name} = {value:.6g}")

        return seen

    def __enter__(self) -> RetrainProgress:
        if self.err.is_terminal:
            self._status = self.err.status("[bold]retraining the best configuration[/]")
            self._status.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
        if exc_type is None:  # a refusal or an error is said once, by the CLI's error line
            self.line(f"retrain ended after {self.evaluations} evaluation(s)")


def _fraction(value: float) -> float:
    if not (math.isfinite(value) and 0 < value <= 1):
        raise typer.BadParameter(f"must be a fraction in (0, 1], not {value}")
    return value


def narrow_command(
    job: JobArg,
    spec: Annotated[Path | None, typer.Option(help="The job's spec (default: the one kept with the job).")] = None,
    output: OutputOpt = None,
    backend: BackendOpt = None,
    jobs_dir: JobsDirOpt = Path("jobs"),
    region: RegionOpt = None,
    top: Annotated[
        float, typer.Option(help="Fraction (0, 1] of completed trials to narrow around.", callback=_fraction)
    ] = 0.2,
) -> None:
    """Write a new spec with ranges narrowed around the top trials, warm-starting from this job."""
    from ..errors import SpecError
    from ..refine import narrow_spec
    from ..specs import dump_yaml, load_job_spec

    def run() -> None:
        runner, job_id = resolve(job, backend, jobs_dir, region)
        source = load_job_spec(spec) if spec is not None else runner.spec(job_id)
        if source is None:
            raise SpecError(f"no spec was kept with {job!r}: pass --spec FILE")
        name = runner.describe(job_id)["HyperParameterTuningJobName"]
        narrowed = narrow_spec(source, runner.list_trials(job_id), parent_job=name, fraction=top)
        write_text(dump_yaml(narrowed), output)

    user_errors(run)


def register(app: typer.Typer) -> None:
    """Add ``retrain`` and ``narrow``."""
    app.command("retrain")(retrain_command)
    app.command("narrow")(narrow_command)
