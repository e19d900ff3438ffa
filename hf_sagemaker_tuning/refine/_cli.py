"""``hfst retrain`` and ``hfst narrow``: the next steps after a tuning job."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer


class BackendName(str, Enum):
    local = "local"
    sagemaker = "sagemaker"


def _fail(exc: Exception) -> typer.Exit:
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {escape(str(exc))}")
    return typer.Exit(2)


def retrain_command(
    job: Annotated[str, typer.Argument(help="A local job folder, or a SageMaker tuning job name.")],
    epochs: Annotated[float | None, typer.Option(help="Train this many epochs (default: as tuned).")] = None,
    backend: Annotated[BackendName, typer.Option("--backend", "-b")] = BackendName.local,
    region: Annotated[str | None, typer.Option(help="AWS region (SageMaker).")] = None,
) -> None:
    """Train the best configuration again, e.g. longer, on the same backend."""
    from rich.console import Console

    from ..errors import TuningError
    from . import retrain_local, retrain_sagemaker

    out = Console(soft_wrap=True, highlight=False)
    try:
        if backend is BackendName.sagemaker:
            name = retrain_sagemaker(job, epochs=epochs, region=region)
            out.print(f"started SageMaker training job {name}")
            return
        with out.status("[bold]retraining the best configuration[/]") as status:
            result = retrain_local(job, epochs=epochs, on_line=lambda line: status.update(f"[bold]{line}[/]"))
        out.print(f"{result['TrainingJobName']}: [bold]{result['TrainingJobStatus']}[/]")
        if result["FailureReason"]:
            out.print(f"[red]{result['FailureReason']}[/]")
            raise typer.Exit(1)
        out.print(f"objective = {result['FinalObjectiveValue']:.6g}; model: {result['ModelDir']}")
    except TuningError as exc:
        raise _fail(exc) from None


def narrow_command(
    job: Annotated[str, typer.Argument(help="A local job folder, or a SageMaker tuning job name.")],
    spec: Annotated[
        Path | None, typer.Option(help="The job's spec (default: the local job folder's spec.yaml).")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the new spec here (default: stdout).")] = None,
    backend: Annotated[BackendName, typer.Option("--backend", "-b")] = BackendName.local,
    region: Annotated[str | None, typer.Option(help="AWS region (SageMaker).")] = None,
    top: Annotated[float, typer.Option(help="Fraction of completed trials to narrow around.")] = 0.2,
) -> None:
    """Write a new spec with ranges narrowed around the top trials, warm-starting from this job."""
    from ..errors import SpecError, TuningError
    from ..specs import dump_yaml, load_job_spec
    from . import narrow_spec

    try:
        if backend is BackendName.local:
            from ..backends.local import LocalBackend

            runner = LocalBackend(Path(job).parent)
            folder = runner.folder(job)
            spec_file = spec or folder.path / "spec.yaml"
            name = folder.name
            trials = runner.list_trials(str(folder.path))
        else:
            from ..backends.sagemaker import SageMakerBackend

            if spec is None:
                raise SpecError("--spec is required for SageMaker jobs")
            sm = SageMakerBackend(region)
            spec_file, name, trials = spec, job, sm.list_trials(job)
        if not spec_file.is_file():
            raise SpecError(f"no spec for {job!r}: pass --spec (looked for {spec_file})")
        new = narrow_spec(load_job_spec(spec_file), trials, parent_job=name, fraction=top)
        text = dump_yaml(new)
        if out is None:
            typer.echo(text, nl=False)
        else:
            out.write_text(text, encoding="utf-8")
            typer.echo(f"wrote {out}", err=True)
    except TuningError as exc:
        raise _fail(exc) from None


def register(app: typer.Typer) -> None:
    """Add ``retrain`` and ``narrow`` to the ``hfst`` app."""
    app.command("retrain")(retrain_command)
    app.command("narrow")(narrow_command)
