"""What every ``hfst`` command shares: the job argument, the backend/jobs-dir/region/output options
spelled one way, the consoles, and the wrapper that turns a user mistake into a message and exit 2.

Imports only typer at the top: ``hfst --help`` loads this and nothing heavier.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

    from ..backends.base import Backend

T = TypeVar("T")


class BackendName(str, Enum):
    local = "local"
    sagemaker = "sagemaker"


JobArg = Annotated[
    str,
    typer.Argument(
        metavar="JOB", help="A local job folder or name, or a SageMaker tuning job name.", show_default=False
    ),
]
#: Where a job runs (tune) or ran (every other command: default found from JOB).
BackendOpt = Annotated[
    BackendName | None,
    typer.Option("--backend", "-b", help="local or sagemaker (default: local if JOB is a local job, else sagemaker)."),
]
JobsDirOpt = Annotated[Path, typer.Option("--jobs-dir", help="Folder of local job folders.")]
RegionOpt = Annotated[str | None, typer.Option("--region", help="AWS region (SageMaker).")]
OutputOpt = Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")]


def console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


class _WarningHandler(logging.Handler):
    """Shows the library's warnings (a non-loopback host, placeholder labels...) once, on stderr."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        from rich.markup import escape

        console(stderr=True).print(f"[yellow]warning:[/] {escape(record.getMessage())}")


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` on stderr (no traceback) and return the exit (code 2) to raise."""
    from rich.markup import escape

    console(stderr=True).print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(2)


def user_errors(fn: Callable[[], T]) -> T:
    """Run a command's body: a ``TuningError`` becomes a message and exit code 2, never a traceback.

    The library's warnings are shown on stderr while it runs.
    """
    from ..errors import TuningError

    handler = _WarningHandler()
    logger = logging.getLogger("hf_sagemaker_tuning")
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    try:
        return fn()
    except TuningError as exc:
        raise fail(str(exc)) from None
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def output_path(path: Path) -> Path:
    """A file the command may write: not a folder, and its folder exists (else exit 2 naming it)."""
    from ..errors import TuningError

    if path.is_dir():
        raise TuningError(f"{path} is a folder; give a file name to write")
    if not path.parent.is_dir():
        raise TuningError(f"{path}: the folder {path.parent} does not exist")
    return path


def write_text(text: str, output: Path | None) -> None:
    """``text`` to stdout, or to ``output`` (checked) with a note on stderr."""
    import sys

    if output is None:
        sys.stdout.write(text)
        return
    try:
        output_path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        from ..errors import TuningError

        raise TuningError(f"could not write {output}: {exc.strerror or exc}") from None
    typer.echo(f"wrote {output}", err=True)


def resolve(
    job: str | os.PathLike[str], backend: BackendName | None, jobs_dir: Path, region: str | None
) -> tuple[Backend, str]:
    """The backend that holds ``job`` and its id there (``backends.resolve_job``)."""
    from ..backends import resolve_job

    return resolve_job(job, None if backend is None else backend.value, jobs_dir=jobs_dir, region=region)
