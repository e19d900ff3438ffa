"""``hfst results`` and ``hfst report``: the CLI face of ``hf_sagemaker_tuning.results``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

T = TypeVar("T")


class BackendName(str, Enum):
    local = "local"
    sagemaker = "sagemaker"


class TableFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


JobArg = Annotated[
    str,
    typer.Argument(
        metavar="JOB", help="A local job folder or name, or a SageMaker tuning job name.", show_default=False
    ),
]
BackendOpt = Annotated[
    BackendName | None,
    typer.Option("--backend", help="Where the job ran (default: local if such a local job exists, else sagemaker)."),
]
JobsRootOpt = Annotated[Path | None, typer.Option("--jobs-root", help="Folder of local jobs (default ./jobs).")]
RegionOpt = Annotated[str | None, typer.Option("--region", help="AWS region (SageMaker jobs).")]


def _run(fn: Callable[[], T]) -> T:
    """Run ``fn``; a ``TuningError`` becomes ``error: message`` on stderr and exit code 2, never a traceback."""
    from rich.console import Console
    from rich.markup import escape

    from ..errors import TuningError

    try:
        return fn()
    except TuningError as exc:
        Console(stderr=True, highlight=False, soft_wrap=True).print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None


def results_command(
    job: JobArg,
    fmt: Annotated[TableFormat, typer.Option("--format", help="table (rich), csv or json.")] = TableFormat.table,
    backend: BackendOpt = None,
    jobs_root: JobsRootOpt = None,
    region: RegionOpt = None,
) -> None:
    """Print a tuning job's trials, best first (the same columns for local and SageMaker jobs)."""
    from . import load

    results = _run(lambda: load(job, backend.value if backend else None, jobs_root=jobs_root, region=region))
    table = _run(results.table)
    if fmt is TableFormat.csv:
        sys.stdout.write(table.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%S.%f%z"))
    elif fmt is TableFormat.json:
        sys.stdout.write(
            table.to_json(orient="records", date_format="iso", date_unit="us", double_precision=15, indent=2) + "\n"
        )
    else:
        _print_table(results.name, table)


def _print_table(name: str, table: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    from ._table import format_value

    view = Table(title=f"{name}: {len(table)} trials, best first")
    columns = [c for c in table.columns if c not in ("TrainingStartTime", "TrainingEndTime")]
    for column in columns:
        view.add_column(str(column), overflow="fold")
    for _, row in table[columns].iterrows():
        view.add_row(*("" if _missing(v) else format_value(_plain(v)) for v in row))
    Console().print(view)


def _missing(value: Any) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def _plain(value: Any) -> Any:
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def report_command(
    job: JobArg,
    out: Annotated[Path, typer.Option("--out", help="The HTML file to write.")] = Path("report.html"),
    backend: BackendOpt = None,
    jobs_root: JobsRootOpt = None,
    region: RegionOpt = None,
) -> None:
    """Write one self-contained HTML report: summary, settings, best hyperparameters, plots, table."""
    from . import write_report

    path = _run(lambda: write_report(job, out, backend.value if backend else None, jobs_root=jobs_root, region=region))
    typer.echo(f"wrote {path}", err=True)


def register(app: typer.Typer) -> None:
    """Add ``results`` and ``report`` to the ``hfst`` app."""
    app.command("results")(results_command)
    app.command("report")(report_command)
