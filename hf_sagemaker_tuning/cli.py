"""``hfst``: the command line. Thin: every command calls the library, importing it lazily.

``hfst --help`` imports none of torch, transformers, datasets or sagemaker.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

app = typer.Typer(
    name="hfst",
    help="Typed hyperparameter tuning of Hugging Face fine-tuning, locally or on AWS SageMaker.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

T = TypeVar("T")
SpecPath = Annotated[Path, typer.Argument(help="The job spec (YAML or JSON).", show_default=False)]


class Format(str, Enum):
    json = "json"
    yaml = "yaml"


class Target(str, Enum):
    sagemaker = "sagemaker"
    local = "local"


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a user-facing error (no traceback) and return the exit to raise."""
    from rich.console import Console

    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[bold red]error:[/] {message}", markup=True)
    return typer.Exit(code)


def run_user_errors(fn: Callable[[], T]) -> T:
    """Run ``fn``; a ``TuningError`` becomes a message and exit code 2, never a traceback."""
    from .errors import TuningError

    try:
        return fn()
    except TuningError as exc:
        raise fail(_escape(str(exc))) from None


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _emit(data: Any, fmt: Format, output: Path | None) -> None:
    import yaml

    text = json.dumps(data, indent=2) + "\n" if fmt is Format.json else yaml.safe_dump(data, sort_keys=False)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)


@app.command()
def validate(spec: SpecPath) -> None:
    """Check a spec: every mistake SageMaker would reject (or silently accept) is reported now."""
    from .specs import load_job_spec

    job = run_user_errors(lambda: load_job_spec(spec))
    tuned = ", ".join(job.search_space.names())
    typer.echo(
        f"ok: {job.name}: {job.tuning.strategy} search over {tuned}; "
        f"objective {job.direction} {job.objective.metric}; "
        f"up to {job.tuning.max_jobs or job.search_space.grid_size()} trials, {job.tuning.max_parallel_jobs} at a time"
    )
    for note in job.notes:
        typer.echo(f"note: {note}", err=True)


@app.command("compile")
def compile_(
    spec: SpecPath,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.json,
    target: Annotated[Target, typer.Option("--backend", "-b", help="Compile for this backend.")] = Target.sagemaker,
    job_name: Annotated[str | None, typer.Option(help="Tuning-job name (default: spec name + unique suffix).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file.")] = None,
    sdk: Annotated[
        bool, typer.Option("--sdk", help="Also build the sagemaker v3 tuner and show what it holds.")
    ] = False,
) -> None:
    """Compile a spec to the exact CreateHyperParameterTuningJob request (checked by botocore)."""
    from .compile import compile_request, validate_request_body
    from .specs import load_job_spec

    def build() -> dict[str, Any]:
        job = load_job_spec(spec)
        request = compile_request(job, target=target.value, job_name=job_name)
        body = request.to_api()
        validate_request_body(body)
        if sdk:
            from .compile.sdk import describe_sdk_objects

            return {"request": body, "sdk": describe_sdk_objects(job, request)}
        return body

    _emit(run_user_errors(build), fmt, output)


@app.command()
def schema(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file.")] = None,
    markdown: Annotated[bool, typer.Option("--markdown", help="The human-readable reference page instead.")] = False,
) -> None:
    """Print the JSON Schema of the spec file (for editors and docs)."""
    if markdown:
        from .specs.reference import spec_reference_markdown

        text = spec_reference_markdown()
        if output is None:
            sys.stdout.write(text)
        else:
            output.write_text(text, encoding="utf-8")
        return
    from .specs import json_schema

    _emit(json_schema(), Format.json, output)


@app.command()
def quickstart(
    spec: Annotated[Path | None, typer.Argument(help="Job spec (default: the bundled offline quickstart).")] = None,
    jobs_dir: Annotated[Path, typer.Option("--jobs-dir", help="Where job folders go.")] = Path("jobs"),
    report: Annotated[Path, typer.Option(help="Where the HTML report goes.")] = Path("quickstart-report.html"),
) -> None:
    """Prepare offline tweets, tune MiniLM here, write the report, deploy the best model, ask it, undeploy."""
    from rich.console import Console

    from .quickstart import SPEC_FILE, run_quickstart
    from .specs import load_job_spec

    console = Console(soft_wrap=True, highlight=False)

    def go() -> None:
        result = run_quickstart(load_job_spec(spec or SPEC_FILE), console=console, jobs_dir=jobs_dir, report=report)
        if result.status == "Failed" or not result.endpoint_stopped:
            raise typer.Exit(1)

    run_user_errors(go)


def _register_feature_commands() -> None:
    # Commands live beside their feature's package (each module imports only typer at the top).
    from .backends._cli import register as register_backends
    from .data._cli import register as register_data
    from .deploy._cli import register as register_deploy
    from .refine._cli import register as register_refine
    from .results._cli import register as register_results

    register_data(app)
    register_backends(app)
    register_results(app)
    register_refine(app)
    register_deploy(app)


_register_feature_commands()


def main() -> None:
    """Entry point of the ``hfst`` console script."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
