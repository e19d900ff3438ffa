"""``hfst tune``, ``hfst status``, ``hfst stop``: run and follow a tuning job on either backend."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ._common import (
    BackendName,
    BackendOpt,
    JobArg,
    JobsDirOpt,
    RegionOpt,
    console,
    finite,
    resolve,
    user_errors,
)

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

    from ..trials import Trial


def print_result(answer: dict[str, Any], best: Trial | None, out: Console) -> None:
    """The job's end state, best trial (``Backend.best_trial``: one of the job's trials) and (local) folder."""
    from rich.markup import escape

    status = answer["HyperParameterTuningJobStatus"]
    reason = answer.get("TuningJobCompletionReason")
    out.print(
        f"job {answer['HyperParameterTuningJobName']}: [bold]{status}[/]" + (f" ({escape(reason)})" if reason else "")
    )
    if answer.get("FailureReason"):
        out.print(f"[red]{escape(answer['FailureReason'])}[/]")
    if best is not None and best.objective is not None:
        out.print(f"best trial {best.name}: {best.objective_metric} = {best.objective:.6g}", markup=False)
        for key, value in best.hyperparameters.items():
            out.print(f"  {key} = {value}", markup=False)
    if answer.get("LocalJobDir"):
        out.print(f"job folder: {answer['LocalJobDir']}")
        if answer.get("Resumable"):
            out.print(f"resume with: hfst tune --resume {answer['LocalJobDir']}")


def tune_command(
    spec: Annotated[Path | None, typer.Argument(help="The job spec (YAML or JSON).", show_default=False)] = None,
    backend: Annotated[BackendName, typer.Option("--backend", "-b", help="Where trials run.")] = BackendName.local,
    jobs_dir: JobsDirOpt = Path("jobs"),
    resume: Annotated[
        str | None, typer.Option("--resume", metavar="JOB", help="Continue this stopped job instead of a new one.")
    ] = None,
    job_name: Annotated[str | None, typer.Option(help="Tuning-job name (default: spec name + unique suffix).")] = None,
    data: Annotated[
        str | None, typer.Option(help="Prepared data (folder or s3:// prefix); prepared if missing.")
    ] = None,
    tokenizer: Annotated[
        str | None, typer.Option(help="Local: tokenize with this folder or hub id instead of the spec's model.")
    ] = None,
    trials_per_gpu: Annotated[
        int | None, typer.Option(min=1, help="Local: trials packed on each GPU (overrides the spec's local:).")
    ] = None,
    gpus_per_trial: Annotated[
        int | None, typer.Option(min=1, help="Local: GPUs per trial, under torchrun (overrides the spec's local:).")
    ] = None,
    processes_per_trial: Annotated[
        int | None,
        typer.Option(min=1, help="Local, CPU: processes per trial, torchrun + gloo (overrides the spec's local:)."),
    ] = None,
    max_failed_trials: Annotated[int | None, typer.Option(min=0, help="Local: failure budget.")] = None,
    detach: Annotated[bool, typer.Option(help="Start the job and return (follow it with hfst status).")] = False,
    region: RegionOpt = None,
    max_cost: Annotated[
        float | None,
        typer.Option(min=0.0, callback=finite, help="SageMaker: refuse when the worst case costs more (or: budget)."),
    ] = None,
    price_per_hour: Annotated[
        float | None,
        typer.Option(min=0.0, callback=finite, help="SageMaker: price of one instance-hour, for the budget."),
    ] = None,
    allow_over_budget: Annotated[
        bool, typer.Option("--allow-over-budget", help="SageMaker: submit even when over budget.")
    ] = False,
) -> None:
    """Run a tuning job (local backend by default) with a live view; Ctrl-C stops it, resumable."""
    from ..tuning_job import TuningJob, tune

    out, err = console(), console(stderr=True)

    def start() -> TuningJob | None:
        if resume is not None:
            attached = TuningJob.attach(resume, backend.value, jobs_dir=jobs_dir, region=region)
            done = attached.backend.finished(attached.id)  # a job ended for good is left as it is
            if done is not None:
                err.print(done, markup=False)
                print_result(attached.describe(), attached.backend.best_trial(attached.id), out)
                return None
            resumed = attached.resume()  # a job another process runs: JobBusyError, naming it
            err.print(f"resumed tuning job {resumed.name} on the {backend.value} backend")
            return resumed
        if spec is None:
            raise typer.BadParameter("give a SPEC file, or --resume JOB")
        if job_name is not None:
            from ..compile.naming import check_job_name

            check_job_name(job_name, "--job-name")
        notes: list[str] = []
        options: dict[str, Any] = {}
        if backend is BackendName.local:
            options = {
                "trials_per_gpu": trials_per_gpu,
                "gpus_per_trial": gpus_per_trial,
                "processes_per_trial": processes_per_trial,
                "max_failed_trials": max_failed_trials,
            }
        else:
            options = {"max_cost": max_cost, "price_per_hour": price_per_hour, "allow_over_budget": allow_over_budget}
        with err.status("[bold]Preparing and submitting[/bold]"):
            job = tune(
                spec,
                backend.value,
                job_name=job_name,
                data=data,
                tokenizer=tokenizer,
                jobs_dir=jobs_dir,
                region=region,
                notes=notes,
                **options,
            )
        for note in notes:
            err.print(note, markup=False)
        err.print(f"started tuning job {job.name} on the {backend.value} backend")
        return job

    job = user_errors(start)
    if job is None:  # nothing to resume
        return
    if detach:
        out.print(job.id, markup=False)
        return

    def follow() -> dict[str, Any]:
        from ..backends.progress import follow

        return follow(job.backend, job.id, out)

    answer = user_errors(follow)
    print_result(answer, user_errors(lambda: job.backend.best_trial(job.id)), out)
    if answer["HyperParameterTuningJobStatus"] == "Failed":
        raise typer.Exit(1)


def status_command(
    job: JobArg,
    backend: BackendOpt = None,
    jobs_dir: JobsDirOpt = Path("jobs"),
    region: RegionOpt = None,
) -> None:
    """Show a tuning job's status, counters, best trial and its trials."""
    from ..backends.base import maximize
    from ..backends.progress import print_whole, render
    from ..trials import best_trial

    out = console()

    def show() -> None:
        runner, job_id = resolve(job, backend, jobs_dir, region)
        answer = runner.describe(job_id)
        trials = runner.list_trials(job_id)
        print_whole(out, render(answer, trials, _started(answer), None))
        print_result(answer, best_trial(trials, maximize(answer)), out)
        from ..evaluate import latest_evaluation

        scored = latest_evaluation(runner, job_id)  # hfst evaluate's saved test score
        if scored is not None:
            out.print(scored.summary(), markup=False)

    user_errors(show)


def _started(answer: dict[str, Any]) -> float:
    """The job's start on the monotonic clock ``render`` measures from, so it shows the job's own elapsed time:
    ``CreationTime`` to its end (``HyperParameterTuningEndTime``) or, while it runs, to now."""
    import time
    from datetime import datetime, timezone

    start, end = answer.get("CreationTime"), answer.get("HyperParameterTuningEndTime")
    if not isinstance(start, datetime):
        return time.monotonic()  # a job that does not say when it began: 0 s, not a guess
    if not isinstance(end, datetime):
        end = datetime.now(timezone.utc if start.tzinfo is not None else None)
    if (start.tzinfo is None) != (end.tzinfo is None):
        return time.monotonic()
    return time.monotonic() - max(0.0, (end - start).total_seconds())


def stop_command(
    job: JobArg,
    backend: BackendOpt = None,
    jobs_dir: JobsDirOpt = Path("jobs"),
    region: RegionOpt = None,
) -> None:
    """Stop a running tuning job (local jobs stay resumable)."""

    def stop() -> None:
        runner, job_id = resolve(job, backend, jobs_dir, region)
        runner.stop(job_id)
        console().print(f"stop requested for {job}", markup=False)

    user_errors(stop)


def register(app: typer.Typer) -> None:
    """Add ``tune``, ``status`` and ``stop``."""
    app.command("tune")(tune_command)
    app.command("status")(status_command)
    app.command("stop")(stop_command)
