"""``hfst prepare SPEC.yaml``: the CLI face of ``prepare_dataset``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import typer

HELP = "Prepare the job's dataset: tokenized train/validation/test channels plus a manifest (cached)."


class _StatusHandler(logging.Handler):
    """Shows the data package's progress messages in a rich status line."""

    def __init__(self, status: Any) -> None:
        super().__init__(logging.INFO)
        self.status = status

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno < logging.WARNING:  # warnings reach the user through the summary
            from rich.markup import escape

            self.status.update(f"[bold]{escape(record.getMessage())}[/bold]")


def prepare_command(
    spec_file: Annotated[Path, typer.Argument(metavar="SPEC.yaml", help="The tuning job spec (YAML or JSON).")],
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            help="Folder or s3://bucket/prefix. Default: where the compiled job reads it: sagemaker.data_uri "
            "(else <output_path>/data/<name>) with a sagemaker section, else ./prepared/<name>.",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Prepare again even if the output is up to date.")] = False,
) -> None:
    """Prepare the job's dataset: tokenized train/validation/test channels plus a manifest (cached)."""
    from rich.console import Console
    from rich.markup import escape

    from ..errors import TuningError

    out, err = Console(soft_wrap=True), Console(stderr=True, soft_wrap=True)
    try:
        from ..specs import load_job_spec
        from . import prepare_dataset

        job = load_job_spec(spec_file)
        from ..compile import default_data_uri

        # Where the compiled job reads its channels: S3 for specs with a sagemaker section, else ./prepared/<name>.
        default = default_data_uri(job, "sagemaker" if job.sagemaker is not None else "local")
        target = output or (default if default.startswith("s3://") else str(Path("prepared") / job.name))
        logger = logging.getLogger("hf_sagemaker_tuning.data")
        with err.status(f"[bold]Preparing {escape(job.dataset.source)}[/bold]") as status:
            handler = _StatusHandler(status)
            previous = logger.level
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
            try:
                result = prepare_dataset(job.dataset, tokenizer=job.training.model, output=target, force=force)
            finally:
                logger.removeHandler(handler)
                logger.setLevel(previous)
    except TuningError as error:
        err.print(f"[red]error:[/red] {escape(str(error))}", highlight=False)
        raise typer.Exit(2) from None
    out.print(escape(result.summary()), highlight=False)


def register(app: typer.Typer) -> None:
    """Add the ``prepare`` command to the main ``hfst`` application."""
    app.command("prepare", help=HELP)(prepare_command)
