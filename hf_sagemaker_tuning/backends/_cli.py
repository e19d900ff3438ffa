"""``hfst tune``, ``hfst status``, ``hfst stop``: run and follow a tuning job on either backend."""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .progress import follow, render

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

    from ..specs import TuningJobSpec
    from .base import Backend


class BackendName(str, Enum):
    local = "local"
    sagemaker = "sagemaker"


JobsDir = Annotated[Path, typer.Option("--jobs-dir", help="Where local job folders live.")]
Region = Annotated[str | None, typer.Option(help="AWS region (SageMaker backend).")]


def _consoles() -> tuple[Console, Console]:
    from rich.console import Console

    return Console(soft_wrap=True, highlight=False), Console(stderr=True, soft_wrap=True, highlight=False)


def _user_error(exc: Exception) -> typer.Exit:
    from rich.markup import escape

    _consoles()[1].print(f"[bold red]error:[/] {escape(str(exc))}")
    return typer.Exit(2)


def make_backend(kind: BackendName, jobs_dir: Path, region: str | None, **local: Any) -> Backend:
    if kind is BackendName.local:
        from .local import LocalBackend

        return LocalBackend(jobs_dir, **local)
    from .sagemaker import SageMakerBackend

    return SageMakerBackend(region)


def check_prepared(data_uri: str, err: Console) -> None:
    """Refuse to start a paid job whose channels were never prepared (needs s3fs; skipped without it)."""
    import importlib.util

    from ..errors import DataError

    if importlib.util.find_spec("s3fs") is None:
        err.print(f"note: s3fs is not installed; not checking that {data_uri} holds prepared data")
        return
    from ..data import load_manifest

    try:
        load_manifest(data_uri)
    except (DataError, OSError) as exc:
        raise DataError(f"no prepared dataset at {data_uri} ({exc}); run `hfst prepare SPEC` first") from None


def prepare_local_channels(job: TuningJobSpec, data: str | None, err: Console) -> str:
    """Prepare (or reuse) the tokenized channels for a local run; return their file:// URI."""
    from ..data import prepare_dataset
    from ..packaged import resolve_model

    folder = Path(data) if data else Path("prepared") / job.name
    with err.status(f"[bold]Preparing data from {job.dataset.source}[/bold]"):
        prepared = prepare_dataset(job.dataset, tokenizer=resolve_model(job.training.model), output=folder)
    err.print(prepared.summary())
    return folder.resolve().as_uri()


def _print_result(answer: dict[str, Any], console: Console) -> None:
    from rich.markup import escape

    status = answer["HyperParameterTuningJobStatus"]
    reason = answer.get("TuningJobCompletionReason")
    console.print(
        f"job {answer['HyperParameterTuningJobName']}: [bold]{status}[/]" + (f" ({escape(reason)})" if reason else "")
    )
    if answer.get("FailureReason"):
        console.print(f"[red]{escape(answer['FailureReason'])}[/]")
    best = answer.get("BestTrainingJob")
    if best:
        metric = best["FinalHyperParameterTuningJobObjectiveMetric"]
        console.print(f"best trial {best['TrainingJobName']}: {metric['MetricName']} = {metric['Value']:.6g}")
        for key, value in best["TunedHyperParameters"].items():
            console.print(f"  {key} = {value}")
    if answer.get("LocalJobDir"):
        console.print(f"job folder: {answer['LocalJobDir']}")
        if answer.get("Resumable"):
            console.print(f"resume with: hfst tune --resume {answer['LocalJobDir']}")


def tune_command(
    spec: Annotated[Path | None, typer.Argument(help="The job spec (YAML or JSON).", show_default=False)] = None,
    backend: Annotated[BackendName, typer.Option("--backend", "-b", help="Where trials run.")] = BackendName.local,
    jobs_dir: JobsDir = Path("jobs"),
    resume: Annotated[Path | None, typer.Option("--resume", help="Continue this local job folder.")] = None,
    job_name: Annotated[str | None, typer.Option(help="Tuning-job name (default: spec name + unique suffix).")] = None,
    data: Annotated[
        str | None, typer.Option(help="Prepared data (folder or s3:// prefix); prepared if missing.")
    ] = None,
    trials_per_gpu: Annotated[int, typer.Option(min=1, help="Local: trials packed on each GPU.")] = 1,
    max_failed_trials: Annotated[int | None, typer.Option(help="Local: failure budget.")] = None,
    detach: Annotated[bool, typer.Option(help="Start the job and return (follow it with hfst status).")] = False,
    region: Region = None,
) -> None:
    """Run a tuning job (local backend by default) with a live view; Ctrl-C stops it, resumable."""
    from ..errors import TuningError

    out, err = _consoles()
    try:
        if resume is not None:
            from .local import LocalBackend

            local = LocalBackend(jobs_dir, trials_per_gpu=trials_per_gpu, max_failed_trials=max_failed_trials)
            folder = local.folder(resume)
            local.resume(resume, background=True)
            from .local import search

            answer = follow(local, str(folder.path), out, limit=search.max_trials(folder.request()))
            _print_result(answer, out)
            raise typer.Exit(0 if answer["HyperParameterTuningJobStatus"] != "Failed" else 1)
        if spec is None:
            raise typer.BadParameter("give a SPEC file, or --resume JOB_DIR")
        from ..compile import compile_request, validate_request_body
        from ..specs import load_job_spec

        job = load_job_spec(spec)
        for note in job.notes:
            err.print(f"note: {note}")
        if backend is BackendName.local:
            data_uri = prepare_local_channels(job, data, err)
            request = compile_request(job, target="local", job_name=job_name, data_uri=data_uri)
            runner = make_backend(
                backend, jobs_dir, region, trials_per_gpu=trials_per_gpu, max_failed_trials=max_failed_trials
            )
            where = str(jobs_dir / request.job_name)
        else:
            request = compile_request(job, target="sagemaker", job_name=job_name, data_uri=data)
            check_prepared(request.channels()["train"].rsplit("/", 1)[0], err)
            runner = make_backend(backend, jobs_dir, region or (job.sagemaker.region if job.sagemaker else None))
            where = request.job_name
        validate_request_body(request.to_api())
        name = runner.submit(request)
        if backend is BackendName.local:
            from ..specs import dump_yaml

            (jobs_dir / request.job_name / "spec.yaml").write_text(dump_yaml(job), encoding="utf-8")
        err.print(f"started tuning job {name} on the {backend.value} backend")
        if detach:
            out.print(where)
            return
        from .local import search

        answer = follow(runner, where, out, limit=search.max_trials(request))
        _print_result(answer, out)
        if answer["HyperParameterTuningJobStatus"] == "Failed":
            raise typer.Exit(1)
    except TuningError as exc:
        raise _user_error(exc) from None


def _guarded(action: Callable[[], None]) -> None:
    """Run a command body; a ``TuningError`` becomes a message and exit code 2."""
    from ..errors import TuningError

    try:
        action()
    except TuningError as exc:
        raise _user_error(exc) from None


def status_command(
    job: Annotated[str, typer.Argument(help="A local job folder or name, or a SageMaker tuning job name.")],
    backend: Annotated[BackendName, typer.Option("--backend", "-b")] = BackendName.local,
    jobs_dir: JobsDir = Path("jobs"),
    region: Region = None,
) -> None:
    """Show a tuning job's status, counters, best trial and its trials."""
    out, _ = _consoles()

    def show() -> None:
        runner = make_backend(backend, jobs_dir, region)
        answer = runner.describe(job)
        out.print(render(answer, runner.list_trials(job), time.monotonic(), None))
        _print_result(answer, out)

    _guarded(show)


def stop_command(
    job: Annotated[str, typer.Argument(help="A local job folder or name, or a SageMaker tuning job name.")],
    backend: Annotated[BackendName, typer.Option("--backend", "-b")] = BackendName.local,
    jobs_dir: JobsDir = Path("jobs"),
    region: Region = None,
) -> None:
    """Stop a running tuning job (local jobs stay resumable)."""
    out, _ = _consoles()

    def stop() -> None:
        make_backend(backend, jobs_dir, region).stop(job)
        out.print(f"stop requested for {job}")

    _guarded(stop)


def register(app: typer.Typer) -> None:
    """Add ``tune``, ``status`` and ``stop`` to the ``hfst`` app."""
    app.command("tune")(tune_command)
    app.command("status")(status_command)
    app.command("stop")(stop_command)
