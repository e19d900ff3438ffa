"""``hfst prepare SPEC``: the CLI face of ``data.prepare_for_job`` (the path ``hfst tune`` uses too)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import BackendName, console, user_errors


def prepare_command(
    spec_file: Annotated[
        Path, typer.Argument(metavar="SPEC", help="The tuning job spec (YAML or JSON).", show_default=False)
    ],
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            help="Folder or s3://bucket/prefix. Default: where the compiled job reads it: sagemaker.data_uri "
            "(else <output_path>/data/<name>) for SageMaker, else ./prepared/<name>.",
        ),
    ] = None,
    backend: Annotated[
        BackendName | None,
        typer.Option(
            "--backend",
            "-b",
            help="The backend the channels are for (default: sagemaker when the spec has a "
            "sagemaker section, else local).",
        ),
    ] = None,
    tokenizer: Annotated[
        str | None,
        typer.Option(
            "--tokenizer",
            metavar="PATH_OR_HUB_ID",
            help="Tokenizer to use instead of the spec's training.model: a local folder, a hub id or "
            "package://dist/path (e.g. a downloaded copy of the model when the hub is out of reach).",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Prepare again even if the output is up to date.")] = False,
) -> None:
    """Prepare the job's dataset: tokenized train/validation/test channels plus a manifest (cached)."""
    from rich.markup import escape

    from ..data import PreparedDataset, prepare_for_job
    from ..specs import load_job_spec

    err = console(stderr=True)

    def run() -> PreparedDataset:
        job = load_job_spec(spec_file)
        target = backend.value if backend is not None else ("sagemaker" if job.sagemaker is not None else "local")
        with err.status(f"[bold]Preparing {escape(job.dataset.source)}[/bold]") as status:
            return prepare_for_job(
                job,
                output,
                tokenizer=tokenizer,
                force=force,
                target="sagemaker" if target == "sagemaker" else "local",
                on_progress=lambda message: status.update(f"[bold]{escape(message)}[/bold]"),
            )

    result = user_errors(run)
    console().print(result.summary(), markup=False)


def register(app: typer.Typer) -> None:
    """Add ``prepare``."""
    app.command("prepare")(prepare_command)
