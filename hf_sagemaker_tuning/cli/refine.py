"""``hfst retrain`` and ``hfst narrow``: the next steps after a tuning job."""

from __future__ import annotations

import math
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from ._common import BackendOpt, JobArg, JobsDirOpt, OutputOpt, RegionOpt, console, resolve, user_errors, write_text


class Keep(str, Enum):
    last = "last"
    best = "best"


def retrain_command(
    job: JobArg,
    epochs: Annotated[float | None, typer.Option(help="Train this many epochs (default: as tuned).")] = None,
    keep: Annotated[
        Keep, typer.Option(help="Keep the last model, or the checkpoint best by the job's objective.")
    ] = Keep.last,
    backend: BackendOpt = None,
    jobs_dir: JobsDirOpt = Path("jobs"),
    region: RegionOpt = None,
) -> None:
    """Train the best configuration again, e.g. longer, on the job's backend; deploy then serves it."""
    from ..refine import RetrainResult, retrain

    out = console()

    def run() -> RetrainResult:
        runner, job_id = resolve(job, backend, jobs_dir, region)
        if runner.cloud is None:  # the run happens here, in the foreground
            with console(stderr=True).status("[bold]retraining the best configuration[/]"):
                return retrain(job_id, runner, epochs=epochs, keep=keep.value)
        return retrain(job_id, runner, epochs=epochs, keep=keep.value, wait=False)

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
