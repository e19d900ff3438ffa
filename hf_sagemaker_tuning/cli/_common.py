"""What every ``hfst`` command shares: the job argument, the backend/jobs-dir/region/output options
spelled one way, the consoles, and the wrapper that turns a user mistake into a message and exit 2.

Imports only typer at the top: ``hfst --help`` loads this and nothing heavier.
"""

from __future__ import annotations

import logging
import math
import os
import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from typer.core import TyperGroup

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


def jobs_folder(path: Path) -> Path:
    """Typer callback of ``--jobs-dir``: refuse a file, or a path under a file, before any work starts."""
    for part in (path, *path.parents):
        if part.exists():
            if not part.is_dir():
                what = "is a file" if part == path else f"lies under {part}, which is a file"
                raise typer.BadParameter(f"{path} {what}; give a folder (it is created if missing)")
            break
    return path


JobsDirOpt = Annotated[Path, typer.Option("--jobs-dir", callback=jobs_folder, help="Folder of local job folders.")]
RegionOpt = Annotated[str | None, typer.Option("--region", help="AWS region (SageMaker).")]
OutputOpt = Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")]


# Typer raises click's exceptions from its own copy of click (``typer._click``) since 0.2x, from click
# itself before: take the classes from typer's public BadParameter so both kinds are caught.
_USAGE_ERROR: type[Exception] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")
_CLICK_EXCEPTION: type[Exception] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


class OneLineErrorsGroup(TyperGroup):
    """The ``hfst`` group: a usage mistake (unknown option, bad value, missing argument) is one line and exit 2.

    Typer draws these as a framed panel under the usage text; every other user mistake in ``hfst`` is one
    ``error:`` line, so these are too (``hfst CMD --help`` has the rest). Bare ``hfst`` still shows the help.
    """

    def make_context(self, info_name: Any, args: Any, parent: Any = None, **extra: Any) -> Any:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except _CLICK_EXCEPTION as exc:
            raise _one_line(exc) from None

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except _CLICK_EXCEPTION as exc:
            raise _one_line(exc) from None


def _one_line(exc: Any) -> Exception:
    if type(exc).__name__ == "NoArgsIsHelpError":  # bare `hfst` or `hfst CMD`: the help, as typer shows it
        return exc  # type: ignore[no-any-return]
    context = getattr(exc, "ctx", None)
    usage = isinstance(exc, _USAGE_ERROR)
    hint = f" (see {context.command_path} --help)" if usage and context is not None else ""
    message = " ".join(str(exc.format_message()).split())
    console(stderr=True).print(f"[bold red]error:[/] {_escape(message)}{_escape(hint)}")
    return typer.Exit(2)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def finite(value: float | None) -> float | None:
    """Typer callback for every float option: ``nan``, ``inf`` and ``-inf`` parse as floats but mean nothing here."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"{value} is not a finite number")
    return value


def positive(value: float | None) -> float | None:
    """Typer callback for a float option that must be finite and above 0 (a duration, a count of epochs)."""
    if finite(value) is not None and value is not None and value <= 0:
        raise typer.BadParameter(f"must be above 0, not {value:g}")
    return value


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
    except Exception as exc:
        problem = environment_problem(exc)
        if problem is None:
            raise
        raise fail(problem) from None
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def environment_problem(exc: BaseException) -> str | None:
    """One line for a problem of this machine rather than of the library: a path that cannot be used
    (a file where a folder is needed, no permission, a name too long) or an AWS setting botocore refuses
    (``AWS_PROFILE`` naming no profile, no region, no credentials). ``None`` for anything else (a bug)."""
    from ..specs._errors import cut

    if isinstance(exc, OSError):
        paths = [str(p) for p in (exc.filename, exc.filename2) if p is not None]
        where = " -> ".join(cut(p, 120) for p in paths)
        reason = exc.strerror or str(exc) or type(exc).__name__
        return f"{where}: {reason}" if where else reason
    botocore = sys.modules.get("botocore.exceptions")
    if botocore is not None and isinstance(exc, botocore.BotoCoreError):
        return f"AWS configuration: {exc}"
    return None


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
