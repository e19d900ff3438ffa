"""``hfst results`` and ``hfst report`` (registered on a bare Typer app, as the main CLI does)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from hf_sagemaker_tuning.cli.results import register
from hf_sagemaker_tuning.results import best_trial, results_table


def app() -> typer.Typer:
    cli = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    register(cli)
    return cli


def test_results_prints_a_rich_table_best_first(finished_job: Path) -> None:
    result = CliRunner().invoke(app(), ["results", str(finished_job)], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    best = best_trial(finished_job)
    assert "fake-job: 20 trials, best first" in result.stdout
    assert best["TrainingJobName"] in result.stdout
    assert result.stdout.index(best["TrainingJobName"]) < result.stdout.index(
        results_table(finished_job)["TrainingJobName"].iloc[-1]
    )


def test_results_as_csv_and_json(finished_job: Path) -> None:
    runner = CliRunner()
    as_csv = runner.invoke(app(), ["results", "fake-job", "--jobs-dir", str(finished_job.parent), "--format", "csv"])
    assert as_csv.exit_code == 0, as_csv.output
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    table = results_table(finished_job)
    assert len(rows) == 20
    assert list(rows[0]) == list(table.columns)
    assert rows[0]["TrainingJobName"] == table["TrainingJobName"].iloc[0]
    assert float(rows[0]["FinalObjectiveValue"]) == table["FinalObjectiveValue"].iloc[0]
    as_json = runner.invoke(app(), ["results", str(finished_job), "--format", "json", "--backend", "local"])
    assert as_json.exit_code == 0, as_json.output
    records = json.loads(as_json.stdout)
    assert [r["TrainingJobName"] for r in records] == table["TrainingJobName"].tolist()
    assert records[0]["opt"] in {"a", "b", "c"}


def test_report_writes_html(finished_job: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = CliRunner().invoke(app(), ["report", str(finished_job), "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.stderr
    assert "data:image/png;base64," in out.read_text(encoding="utf-8")


def test_user_errors_exit_2_with_a_message_and_no_traceback(tmp_path: Path) -> None:
    result = CliRunner().invoke(app(), ["results", "missing", "--backend", "local", "--jobs-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "error:" in result.stderr
    assert "no local tuning job 'missing'" in result.stderr
    assert "Traceback" not in result.output
    report = CliRunner().invoke(app(), ["report", str(tmp_path)])
    assert report.exit_code == 2
    assert "not a local tuning job folder" in report.stderr
