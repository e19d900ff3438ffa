"""``hfst doctor``: what is wrong with a local job folder, and ``--repair`` for the safe repairs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ._common import JobArg, JobsDirOpt, console, user_errors

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

    from ..backends.doctor import Diagnosis


def _show(diagnosis: Diagnosis, out: Console) -> None:
    from rich.markup import escape

    name = diagnosis.folder.name
    if diagnosis.running_pid is not None:
        out.print(f"job {name} is running (coordinator pid {diagnosis.running_pid}): only its files were checked")
    if diagnosis.healthy:
        out.print(f"job {name}: [green]no problem found[/]")
        return
    out.print(f"job {name}: [bold red]{len(diagnosis.problems)} problem(s)[/]")
    for problem in diagnosis.problems:
        out.print(f"  [red]x[/] {escape(problem.message)}")
        if problem.repair:
            out.print(f"    repair: {escape(problem.repair)}")
        elif problem.advice:
            out.print(f"    needs you: {escape(problem.advice)}")


def doctor_command(
    job: JobArg,
    jobs_dir: JobsDirOpt = Path("jobs"),
    repair: Annotated[
        bool, typer.Option("--repair", help="Make the safe repairs (the job must not be running).")
    ] = False,
) -> None:
    """Check a local job folder (files, trial folders, study.db, processes); exit 1 while problems remain."""
    from ..backends.doctor import diagnose, job_folder
    from ..backends.doctor import repair as make_repairs

    out = console()

    def check() -> bool:
        folder = job_folder(job, jobs_dir)
        if repair:
            for done in make_repairs(folder):
                out.print(f"repaired: {done}", markup=False)
        diagnosis = diagnose(folder)
        _show(diagnosis, out)
        if not diagnosis.healthy and not repair and any(p.repair for p in diagnosis.problems):
            out.print(f"run: hfst doctor {folder.path} --repair", markup=False)
        return diagnosis.healthy

    if not user_errors(check):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``doctor``."""
    app.command("doctor")(doctor_command)
