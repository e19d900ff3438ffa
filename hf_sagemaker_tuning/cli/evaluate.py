"""``hfst evaluate``: the honest final score of a job's model on its held-out test split."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ._common import BackendOpt, JobArg, JobsDirOpt, RegionOpt, console, resolve, user_errors

if TYPE_CHECKING:  # pragma: no cover
    from ..evaluate import Evaluation


def evaluate_command(
    job: JobArg,
    split: Annotated[str, typer.Option("--split", help="The prepared split to score: test, validation or train.")] = (
        "test"
    ),
    model: Annotated[
        str | None,
        typer.Option("--model", metavar="DIR", help="Score this model (a folder; s3://.../model.tar.gz on SageMaker)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Score again even if this model and split were.")] = False,
    backend: BackendOpt = None,
    jobs_dir: JobsDirOpt = Path("jobs"),
    region: RegionOpt = None,
) -> None:
    """Score the best model (newest retrain, else best trial) once on the test split; saved with the job."""
    from ..evaluate import evaluate

    err = console(stderr=True)

    def run() -> Evaluation:
        runner, job_id = resolve(job, backend, jobs_dir, region)
        with err.status(f"[bold]Scoring the model on the {split} split[/bold]"):
            scored = evaluate(job_id, runner, split, model, force, jobs_dir=jobs_dir)
        from ..tracking import after_run

        after_run(runner, job_id)  # a tracked job's MLflow tree gets the score (never fails it)
        return scored

    evaluation = user_errors(run)
    out = console()
    out.print(evaluation.summary(), markup=False)
    out.print(evaluation.details_text(), markup=False)
    out.print(
        f"scored {evaluation.created} by {evaluation.evaluation_job}; saved with the job "
        "(hfst results / status / report show it; --force scores again)",
        markup=False,
    )


def register(app: typer.Typer) -> None:
    """Add ``evaluate``."""
    app.command("evaluate")(evaluate_command)
