"""Plots and the HTML report from a real finished local job: real PNGs of the expected size."""

from __future__ import annotations

import base64
import re
import struct
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
from matplotlib.figure import Figure

from hf_sagemaker_tuning.results import (
    DPI,
    best_trial,
    load,
    plot_importance,
    plot_learning_curves,
    plot_objective,
    plot_parallel_coordinates,
    plot_parameters,
    write_report,
)

from .conftest import sagemaker_twin

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SageMakerJob = tuple[boto3.Session, list[dict[str, Any]]]


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (which must come first)."""
    assert data[:8] == PNG_MAGIC
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR"
    assert length == 13
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.mark.parametrize(
    ("plot", "inches"),
    [
        (plot_objective, (8, 4.5)),
        (plot_parameters, (12, 7)),  # 4 parameters: 3 columns, 2 rows
        (plot_parallel_coordinates, (10.5, 4.5)),  # 4 parameters + the objective
        (plot_importance, (7, 3.9)),
        (plot_learning_curves, (8, 4.5)),
    ],
)
def test_each_plot_is_a_figure_and_a_png_of_the_expected_size(
    finished_job: Path, tmp_path: Path, plot: Any, inches: tuple[float, float]
) -> None:
    out = tmp_path / "plot.png"
    fig = plot(finished_job, out=out)
    assert isinstance(fig, Figure)
    assert tuple(fig.get_size_inches()) == pytest.approx(inches)
    width, height = png_size(out.read_bytes())
    assert (width, height) == (round(inches[0] * DPI), round(inches[1] * DPI))
    assert out.stat().st_size > 10_000  # drawn, not blank


def test_plots_are_drawn_from_the_data(finished_job: Path) -> None:
    results = load(finished_job)
    best = best_trial(results)
    fig = plot_objective(results)
    ax = fig.axes[0]
    step = next(line for line in ax.get_lines() if line.get_label() == "best so far")
    assert np.nanmax(np.asarray(step.get_ydata(), dtype=float)) == pytest.approx(best["FinalObjectiveValue"])
    panels = plot_parameters(results).axes
    assert [a.get_xscale() for a in panels] == ["linear", "log", "linear", "linear"]
    assert [a.get_xlabel() for a in panels] == ["x", "y (log)", "z", "opt"]
    curves = plot_learning_curves(results).axes[0]
    assert len(curves.get_lines()) == 20
    assert any(str(line.get_label()).startswith("best (") for line in curves.get_lines())


def test_sagemaker_learning_curves_come_from_the_trials_logs(finished_job: Path, sagemaker_job: SageMakerJob) -> None:
    session, _ = sagemaker_job
    remote = load("fake-job", "sagemaker", boto_session=session)
    local = load(finished_job)
    for trial in local.trials:
        assert remote.curves(trial.name) == local.curves(trial.name)
    curves = plot_learning_curves(remote).axes[0]
    assert len(curves.get_lines()) == 20
    assert isinstance(plot_objective(remote), Figure)


def test_report_is_one_self_contained_html_file(finished_job: Path, tmp_path: Path) -> None:
    out = write_report(finished_job, tmp_path / "sub" / "report.html")
    page = out.read_text(encoding="utf-8")
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 5
    for data in images:
        width, height = png_size(base64.b64decode(data))
        assert width >= 600
        assert height >= 250
    best = best_trial(finished_job)
    assert best["TrainingJobName"] in page
    assert "<h2>Best hyperparameters</h2>" in page
    block = page.split("<h2>Best hyperparameters</h2>", 1)[1].split("<h2>", 1)[0]
    for name in ("x", "y", "opt", "z"):
        assert f"<th>{name}</th>" in block
    assert f"<td>{best['opt']}</td>" in block
    assert f"<td>{best['x']:.6g}</td>" in block
    for fragment in (
        "Strategy</th><td>Random",
        "Max training jobs</th><td>20",
        "score (Maximize)",
        "Tuning job fake-job (local): Completed",
        "<table",
        'src="http',
    ):
        if fragment == 'src="http':
            assert fragment not in page  # nothing fetched from elsewhere
        else:
            assert fragment in page


def test_report_of_a_sagemaker_job_notes_the_missing_curves(finished_job: Path, tmp_path: Path) -> None:
    twin = sagemaker_twin(finished_job, with_logs=False)
    session, _ = next(twin)
    try:
        out = write_report("fake-job", tmp_path / "r.html", "sagemaker", boto_session=session)
    finally:
        twin.close()
    page = out.read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 4
    assert "Not available: " in page and "GetLogEvents" in page
    assert "Tuning job fake-job (sagemaker)" in page
