"""``hfst deploy`` / ``predict`` / ``undeploy`` / ``endpoints``: the CLI face of ``hf_sagemaker_tuning.deploy``."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

T = TypeVar("T")


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def _run(fn: Callable[[], T]) -> T:
    """Run ``fn``; a ``TuningError`` becomes ``error: message`` and exit code 2, never a traceback."""
    from rich.markup import escape

    from ..errors import TuningError

    handler = _WarningHandler()
    logger = logging.getLogger("hf_sagemaker_tuning.deploy")
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False  # shown once, by our handler
    try:
        return fn()
    except TuningError as exc:
        _console(stderr=True).print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


class _WarningHandler(logging.Handler):
    """Shows the deploy package's warnings (non-loopback host, placeholder labels) on stderr."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        from rich.markup import escape

        _console(stderr=True).print(f"[yellow]warning:[/] {escape(record.getMessage())}")


def deploy_command(
    model_dir: Annotated[
        Path | None,
        typer.Argument(
            metavar="JOB_DIR|MODEL_DIR",
            help="A model folder (with code/inference.py) or a local tuning-job folder (its best model).",
            show_default=False,
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default; 0.0.0.0 exposes it).")] = "127.0.0.1",
    port: Annotated[
        int | None, typer.Option(help="Port (default: 8080 if free, else any free port; 0: any free port).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Endpoint name (default: from the folder or job name).")] = None,
    threads: Annotated[int | None, typer.Option(help="Torch threads for the local server.", min=1)] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the local server to be ready.")] = 180.0,
    sagemaker: Annotated[
        str | None,
        typer.Option("--sagemaker", metavar="TUNING_JOB", help="Deploy this SageMaker tuning job's best model."),
    ] = None,
    training_job: Annotated[
        str | None, typer.Option(help="Deploy this SageMaker training job instead of a tuning job's best.")
    ] = None,
    role: Annotated[str | None, typer.Option(help="SageMaker execution role ARN (with --sagemaker).")] = None,
    region: Annotated[str | None, typer.Option(help="AWS region (with --sagemaker).")] = None,
    instance_type: Annotated[str, typer.Option(help="SageMaker endpoint instance type.")] = "ml.m5.xlarge",
) -> None:
    """Serve a model on a local endpoint, or (--sagemaker) a tuning job's best model on SageMaker."""
    from . import DeployError

    out = _console()

    def run() -> None:
        remote = sagemaker is not None or training_job is not None
        if remote:
            if model_dir is not None:
                raise DeployError("pass either a folder (local endpoint) or --sagemaker TUNING_JOB, not both")
            if sagemaker is not None and training_job is not None:
                raise DeployError("pass either --sagemaker TUNING_JOB or --training-job NAME, not both")
            if not role or not region:
                raise DeployError("--sagemaker needs --role ARN and --region REGION")
            from . import deploy_sagemaker

            endpoint = deploy_sagemaker(
                sagemaker, training_job, role=role, region=region, instance_type=instance_type, endpoint_name=name
            )
            out.print(f"deployed SageMaker endpoint [bold]{endpoint.name}[/] in {region}")
            if endpoint.image is not None:
                out.print(f"image: {endpoint.image.uri} ({endpoint.image.reason})")
            out.print(f"it bills by the hour until you run: hfst undeploy {endpoint.name}")
            return
        if model_dir is None:
            raise DeployError("pass a model folder (or a local tuning-job folder), or --sagemaker TUNING_JOB")
        from . import deploy_local

        with _console(stderr=True).status("[bold]Starting the local endpoint[/]"):
            local = deploy_local(model_dir, host=host, port=port, name=name, timeout=timeout, threads=threads)
        out.print(f"deployed [bold]{local.name}[/] at {local.url} (pid {local.pid}, log {local.log_file})")
        out.print(f'try: hfst predict {local.name} "Best thing ever!"')

    _run(run)


def predict_command(
    endpoint: Annotated[str, typer.Argument(help="The endpoint name (see `hfst endpoints`).", show_default=False)],
    texts: Annotated[list[str], typer.Argument(metavar="TEXT...", help="Texts to classify.", show_default=False)],
    top_k: Annotated[int | None, typer.Option(help="Labels per text (default 1).", min=1)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw JSON answer.")] = False,
) -> None:
    """Classify texts with a deployed endpoint; print labels and scores."""
    from . import Predictor

    def run() -> list[list[dict[str, Any]]]:
        return Predictor.for_endpoint(endpoint).predict(list(texts), top_k=top_k)

    answers = _run(run)
    if as_json:
        typer.echo(json.dumps(answers[0] if len(texts) == 1 else answers))
        return
    from rich.table import Table

    table = Table("text", "label", "score")
    for text, labels in zip(texts, answers, strict=True):
        for rank, item in enumerate(labels):
            shown = text if len(text) <= 60 else text[:57] + "..."
            table.add_row(shown if rank == 0 else "", str(item["label"]), f"{item['score']:.4f}")
    _console().print(table)


def undeploy_command(
    endpoint: Annotated[str, typer.Argument(help="The endpoint name (see `hfst endpoints`).", show_default=False)],
) -> None:
    """Stop an endpoint (local: the server; SageMaker: endpoint, config and model) and forget it."""
    from . import undeploy

    removed = _run(lambda: undeploy(endpoint))
    _console().print(f"undeployed {endpoint}: " + (", ".join(removed) or "nothing was left to delete"))


def endpoints_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List deployed endpoints (local and SageMaker) and whether local ones still run."""
    from rich.table import Table

    from ._local import is_running
    from ._registry import all_records

    records = _run(all_records)
    rows = []
    for record in records:
        status = ("running" if is_running(record) else "stopped") if record.kind == "local" else "deployed"
        rows.append({**record.to_json(), "status": status, "url": record.url})
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        _console().print("no endpoints; deploy one with `hfst deploy MODEL_DIR`")
        return
    table = Table("name", "kind", "status", "where", "model", "started")
    for row in rows:
        where = row["url"] if row["kind"] == "local" else row["region"]
        table.add_row(row["name"], row["kind"], row["status"], str(where), row["model"], row["started_at"])
    _console().print(table)


def register(app: typer.Typer) -> None:
    """Add ``deploy``, ``predict``, ``undeploy`` and ``endpoints`` to ``app``."""
    app.command("deploy")(deploy_command)
    app.command("predict")(predict_command)
    app.command("undeploy")(undeploy_command)
    app.command("endpoints")(endpoints_command)
