"""The ``TuningJob`` object on the local backend (fake training script), and following a job off a terminal."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from hf_sagemaker_tuning import TuningJob
from hf_sagemaker_tuning.backends import LocalBackend
from hf_sagemaker_tuning.backends.progress import follow
from hf_sagemaker_tuning.compile import TuningJobRequest
from hf_sagemaker_tuning.errors import BackendError
from hf_sagemaker_tuning.specs import parse_job_spec

from .fakejob import fake_spec

pytestmark = pytest.mark.timeout(120)
MakeRequest = Callable[..., TuningJobRequest]
SETTINGS: dict[str, Any] = {"tuning": {"strategy": "random", "max_jobs": 6, "max_parallel_jobs": 2, "random_seed": 5}}


def _submit(tmp_path: Path, make_request: MakeRequest, name: str, *, keep_spec: bool = True) -> LocalBackend:
    backend = LocalBackend(tmp_path / "jobs", poll_seconds=0.02, grace_seconds=2)
    spec = parse_job_spec(fake_spec(**SETTINGS)) if keep_spec else None
    backend.submit(make_request(name, **SETTINGS), spec)
    return backend


def test_the_job_object_reads_everything_through_its_backend(
    tmp_path: Path, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    _submit(tmp_path, make_request, "obj")
    monkeypatch.chdir(tmp_path)  # attach by name finds ./jobs/obj
    job = TuningJob.attach("obj").wait(progress=False, timeout=100)
    assert job.name == "obj" and job.status() == "Completed"
    assert TuningJob.attach(tmp_path / "jobs" / "obj").id == job.id  # by folder too
    table = job.dataframe()
    assert len(table) == 6 == len(job.trials())
    best = job.best_trial()
    assert best["TrainingJobName"] == job.describe()["BestTrainingJob"]["TrainingJobName"]
    assert best["FinalObjectiveValue"] == table["FinalObjectiveValue"].max()
    assert set(job.plots()) == {"objective", "parameters", "parallel_coordinates", "importance", "learning_curves"}
    report = job.report(tmp_path / "report.html")
    assert "data:image/png;base64," in report.read_text(encoding="utf-8")
    page = job._repr_html_()
    assert "obj" in page and best["TrainingJobName"] in page and "<table>" in page
    assert best["TrainingJobName"] in job.results()._repr_html_()
    assert job.best_model().training_job_name == best["TrainingJobName"]
    narrowed = job.narrow(top=0.5)
    assert narrowed.tuning.warm_start is not None and narrowed.tuning.warm_start.parents == ["obj"]


def test_plots_skip_the_importance_plot_with_a_note_when_it_cannot_be_computed(
    tmp_path: Path, make_request: MakeRequest, caplog: pytest.LogCaptureFixture
) -> None:
    backend = LocalBackend(tmp_path / "jobs", poll_seconds=0.02, grace_seconds=2)
    one = {"tuning": {"strategy": "random", "max_jobs": 1, "max_parallel_jobs": 1, "random_seed": 5}}
    backend.run(make_request("single", **one))  # one completed trial: nothing to rank parameters by
    job = TuningJob.attach("single", backend)
    with caplog.at_level("WARNING", logger="hf_sagemaker_tuning"):
        plots = job.plots()
    assert set(plots) == {"objective", "parameters", "parallel_coordinates", "learning_curves"}
    notes = [r.getMessage() for r in caplog.records]
    assert any("importance" in note and "at least 2 finished trials" in note for note in notes), notes


def test_narrow_needs_a_kept_spec(tmp_path: Path, make_request: MakeRequest) -> None:
    backend = _submit(tmp_path, make_request, "nospec", keep_spec=False)
    job = TuningJob.attach("nospec", backend).wait(progress=False, timeout=100)
    assert job.spec is None
    with pytest.raises(BackendError, match="no spec was kept"):
        job.narrow()


def test_unknown_job_is_refused_at_attach(tmp_path: Path) -> None:
    with pytest.raises(BackendError):
        TuningJob.attach("no-such-job", "local", jobs_dir=tmp_path)


def test_stop_a_running_job_then_resume_it_to_the_end(
    tmp_path: Path, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HFST_TEST_EPOCH_SECONDS", "0.3")
    backend = _submit(tmp_path, make_request, "halt")
    job = TuningJob.attach("halt", backend)
    with pytest.raises(BackendError, match="did not finish within"):
        job.wait(progress=False, timeout=0.2, poll_seconds=0.05)
    job.stop()
    job.wait(progress=False, timeout=60, poll_seconds=0.05)
    assert job.status() == "Stopped"
    assert job.describe()["Resumable"] is True
    resumed = job.resume()
    assert resumed.id == job.id
    resumed.wait(progress=False, timeout=100, poll_seconds=0.05)
    assert resumed.status() == "Completed"
    assert len([t for t in resumed.trials() if t.status == "Completed"]) == 6


def test_following_a_job_off_a_terminal_prints_progress_lines_as_it_goes(
    tmp_path: Path, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HFST_TEST_EPOCH_SECONDS", "0.05")
    backend = _submit(tmp_path, make_request, "lines")
    out = io.StringIO()
    answer = follow(backend, str(tmp_path / "jobs" / "lines"), Console(file=out, width=200), poll=0.05)
    assert answer["HyperParameterTuningJobStatus"] == "Completed"
    lines = [line for line in out.getvalue().splitlines() if line.startswith("lines: ")]
    assert len(lines) >= 3, out.getvalue()  # one line per change, not one view at the end
    assert "\x1b[" not in out.getvalue()  # plain text for logs and CI
    done = [int(line.split("done ")[1].split(" ")[0]) for line in lines]
    assert done == sorted(done) and done[-1] == 6


def test_wait_with_progress_off_a_terminal_prints_whole_lines(
    tmp_path: Path, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``job.wait(progress=True)`` in a log: one whole line per change, as ``hfst tune`` prints, never cut at 80."""
    monkeypatch.setenv("HFST_TEST_EPOCH_SECONDS", "0.05")
    monkeypatch.delenv("COLUMNS", raising=False)
    name = "a-32-character-job-name-for-logs"  # the longest a job name may be
    _submit(tmp_path, make_request, name)
    TuningJob.attach(str(tmp_path / "jobs" / name)).wait(progress=True, timeout=100, poll_seconds=0.05)
    lines = [line for line in capsys.readouterr().out.splitlines() if line]
    assert len(lines) >= 2
    for line in lines:
        assert line.startswith(f"{name}: ") and ", elapsed " in line and line.endswith(" s"), line
    assert max(len(line) for line in lines) > 80
