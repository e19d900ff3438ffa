"""``hfst results`` and ``hfst report``: the CLI face of ``hf_sagemaker_tuning.results``."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from ._common import BackendOpt, JobArg, JobsDirOpt, RegionOpt, console, output_path, resolve, user_errors


class TableFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


def results_command(
    job: JobArg,
    fmt: Annotated[TableFormat, typer.Option("--format", "-f", help="table (rich), csv or json.")] = TableFormat.table,
    backend: BackendOpt = None,
    jobs_dir: JobsDirOpt = Path("jobs"),
    region: RegionOpt = None,
) -> None:
    """Print a tuning job's trials, best first (the same columns for local and SageMaker jobs)."""
    from ..results import load

    def read() -> tuple[str, Any, list[str]]:
        from ..results._table import evaluation_lines

        runner, job_id = resolve(job, backend, jobs_dir, region)
        results = load(job_id, runner)
        return results.name, results.table(), evaluation_lines(results)

    name, table, scored = user_errors(read)
    if fmt is TableFormat.csv:
        sys.stdout.write(table.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%S.%f%z"))
    elif fmt is TableFormat.json:
        sys.stdout.write(
            table.to_json(orient="records", date_format="iso", date_unit="us", double_precision=15, indent=2) + "\n"
        )
    else:
        _print_table(name, table)
        if scored:  # hfst evaluate's saved test score, validation side by side
            console().print("\n".join(scored), markup=False)


def _print_table(name: str, table: Any) -> None:
    from rich.table import Table

    from ..results._table import format_value, plain_value

    view = Table(title=f"{name}: {len(table)} trials, best first")
    columns = [c for c in table.columns if c not in ("TrainingStartTime", "TrainingEndTime")]
    for column in columns:
        view.add_column(str(column), overflow="fold")
    for _, row in table[columns].iterrows():
        view.add_row(*("" if (cell := plain_value(v)) is None else format_value(cell) for v in row))
    console().print(view)


def report_command(
    job: JobArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write.")] = Path("report.html"),
    backend: BackendOpt = None,
    jobs_dir: JobsDirOpt = Path("jobs"),
    region: RegionOpt = None,
) -> None:
    """Write one self-contained HTML report: summary, settings, best hyperparameters, plots, table."""
    from ..results import load, write_report

    def write() -> Path:
        target = output_path(output)
        runner, job_id = resolve(job, backend, jobs_dir, region)
        return Path(write_report(load(job_id, runner), target))

    path = user_errors(write)
    typer.echo(f"wrote {path}", err=True)


def register(app: typer.Typer) -> None:
    """Add ``results`` and ``report``."""
    app.command("results")(results_command)
    app.command("report")(report_command)
