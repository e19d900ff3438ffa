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


def test_status_off_a_terminal_shows_every_tuned_value_whole(finished_job: Path) -> None:
    """Four tuned parameters: none disappears, no value is cut mid-number, no line wraps at 80 columns."""
    from hf_sagemaker_tuning.backends.local import LocalBackend
    from hf_sagemaker_tuning.backends.progress import short_value
    from hf_sagemaker_tuning.cli import app as hfst

    result = CliRunner().invoke(hfst, ["status", str(finished_job)], env={"COLUMNS": None})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    header = next(line for line in lines if line.startswith("trial "))
    trials = LocalBackend(finished_job.parent).list_trials(str(finished_job))
    tuned = list(trials[-1].hyperparameters)
    assert sorted(tuned) == ["opt", "x", "y", "z"]
    assert header.split() == ["trial", "status", "objective", *tuned]
    for trial in trials[-8:]:  # the view shows the last eight
        row = next(line for line in lines if line.startswith(trial.name[-12:]))
        cells = row.split()
        assert cells[-4:] == [short_value(trial.hyperparameters[p]) for p in tuned]


def test_short_value_keeps_integers_and_categories_and_rounds_floats() -> None:
    from hf_sagemaker_tuning.backends.progress import short_value

    assert short_value("3.2145678901234e-05") == "3.21457e-05"
    assert short_value("0.1") == "0.1"
    assert short_value("12") == "12"
    assert short_value("adamw_torch") == "adamw_torch"
    assert short_value(0.000123456789) == "0.000123457"
