"""``hfst track`` and ``hfst tensorboard``: the CLI face of ``hf_sagemaker_tuning.tracking``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import BackendOpt, JobArg, JobsDirOpt, RegionOpt, resolve, user_errors


def track_command(
    job: JobArg,
    tracking_uri: Annotated[
        str | None,
        typer.Option(
            "--tracking-uri",
            help="A local folder, an http(s):// MLflow server or a SageMaker MLflow ARN "
            "(default: the job's tracking: section).",
        ),
    ] = None,
    experiment: Annotated[
        str | None, typer.Option("--experiment", help="MLflow experiment (default: the spec's name).")
    ] = None,
    register_as: Annotated[
        str | None, typer.Option("--register-as", help="Register the job's model under this name.")
    ] = None,
    report: Annotated[bool, typer.Option("--report/--no-report", help="Upload the HTML report too.")] = True,
    backend: BackendOpt = None,
    jobs_dir: JobsDirOpt = Path("jobs"),
    region: RegionOpt = None,
) -> None:
    """Copy a finished or running job into MLflow (parent run, one child per trial, retrains, test scores).

    Running it again adds nothing: runs are found by their tags and only what is missing is written.
    """
    from ..tracking import track

    def copy() -> str:
        runner, job_id = resolve(job, backend, jobs_dir, region)
        result = track(
            job_id,
            runner,
            tracking_uri=tracking_uri,
            experiment=experiment,
            register_as=register_as,
            report=report,
        )
        runs = ", ".join(f"{n} {kind}{'s' if n != 1 else ''}" for kind, n in result.runs.items())
        name = runner.job_name(job_id)
        return f"tracked {name} in experiment {result.experiment!r}: parent run {result.parent_run_id} ({runs})"

    typer.echo(user_errors(copy))


def tensorboard_command(
    job: JobArg,
    backend: BackendOpt = None,
    jobs_dir: JobsDirOpt = Path("jobs"),
    region: RegionOpt = None,
) -> None:
    """Print where a job's TensorBoard event files are: tensorboard --logdir "$(hfst tensorboard JOB)"."""
    from ..tracking import tensorboard_location

    def where() -> str:
        runner, job_id = resolve(job, backend, jobs_dir, region)
        return tensorboard_location(runner, job_id)

    typer.echo(user_errors(where))


def register(app: typer.Typer) -> None:
    """Add ``track`` and ``tensorboard``."""
    app.command("track")(track_command)
    app.command("tensorboard")(tensorboard_command)
