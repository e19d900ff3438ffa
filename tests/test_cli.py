"""The ``hfst`` command line: exit codes, messages, no tracebacks for user mistakes."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from hf_sagemaker_tuning.cli import app

from .conftest import EXAMPLE_SPEC
from .specs._base_spec import spec_with

runner = CliRunner()


def _write(tmp_path: Path, data: object, name: str = "job.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data) if name.endswith((".yaml", ".yml")) else json.dumps(data))
    return path


def test_validate_ok() -> None:
    result = runner.invoke(app, ["validate", str(EXAMPLE_SPEC)])
    assert result.exit_code == 0, result.output
    assert "ok: tweet-eval-distilbert" in result.output
    assert "maximize eval_macro_recall" in result.output


def test_validate_reports_every_problem_with_file_and_field(tmp_path: Path) -> None:
    path = _write(tmp_path, spec_with(**{"tuning.strategy": "Foo", "search_space.learning_rate.scaling": "Bogus"}))
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert f"invalid spec in {path}" in result.output.replace("\n", "")
    assert "tuning.strategy" in result.output and "search_space.learning_rate.scaling" in result.output


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "does not exist"),
        ("name: [unclosed", "not valid YAML"),
        ("", "is empty"),
        ("- a\n- b\n", "must be a mapping"),
    ],
)
def test_bad_files_exit_2_with_a_message(tmp_path: Path, content: str | None, fragment: str) -> None:
    path = tmp_path / "job.yaml"
    if content is not None:
        path.write_text(content)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert fragment in result.output
    assert "Traceback" not in result.output


def test_validate_notes_the_parallel_quota(tmp_path: Path) -> None:
    path = _write(tmp_path, spec_with(**{"tuning.max_parallel_jobs": 12}))
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0
    assert "default account quota of 10" in result.output


def test_compile_json_and_yaml(tmp_path: Path) -> None:
    result = runner.invoke(app, ["compile", str(EXAMPLE_SPEC), "--job-name", "cli-job"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["HyperParameterTuningJobName"] == "cli-job"
    out = tmp_path / "req.yaml"
    result = runner.invoke(app, ["compile", str(EXAMPLE_SPEC), "--job-name", "cli-job", "-f", "yaml", "-o", str(out)])
    assert result.exit_code == 0
    assert yaml.safe_load(out.read_text()) == body


def test_compile_json_spec_for_local_backend(tmp_path: Path) -> None:
    path = _write(tmp_path, spec_with(sagemaker=...), "job.json")
    result = runner.invoke(app, ["compile", str(path), "--backend", "local", "--job-name", "loc"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["TrainingJobDefinition"]["InputDataConfig"][0]["DataSource"]["S3DataSource"][
        "S3Uri"
    ].startswith("file://")
    result = runner.invoke(app, ["compile", str(path), "--backend", "sagemaker"])
    assert result.exit_code == 2 and "sagemaker:" in result.output


@pytest.mark.timeout(120)
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_compile_sdk_builds_the_real_tuner(tmp_path: Path) -> None:
    result = runner.invoke(app, ["compile", str(EXAMPLE_SPEC), "--job-name", "cli-job", "--sdk"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    sdk = data["sdk"]
    assert sdk["HyperparameterTuner"]["strategy"] == "Bayesian"
    assert (
        sdk["HyperparameterTuner"]["hyperparameter_ranges"]["ContinuousParameterRanges"][0]["scaling_type"]
        == "Logarithmic"
    )
    assert (
        sdk["ModelTrainer"]["training_image"]
        == data["request"]["TrainingJobDefinition"]["AlgorithmSpecification"]["TrainingImage"]
    )
    assert sdk["ModelTrainer"]["source_dir"].rstrip("/").endswith("training")


def test_schema_is_json_schema() -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["title"] == "hf-sagemaker-tuning job spec"
    assert {"name", "dataset", "training", "search_space", "objective", "tuning"} <= set(schema["required"])


def test_validate_json_report_for_ci() -> None:
    result = runner.invoke(app, ["validate", str(EXAMPLE_SPEC), "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["errors"] == [] and report["target"] == "sagemaker"
    assert report["cost"]["worst_case_instance_hours"] == 480.0


@pytest.mark.timeout(120)
def test_status_shows_the_jobs_own_elapsed_time(tmp_path: Path, make_request: Any) -> None:
    """Issue 18: ``hfst status`` said ``elapsed 0 s`` for every job (it measured from its own start)."""
    from datetime import timedelta

    from hf_sagemaker_tuning.backends import LocalBackend
    from hf_sagemaker_tuning.specs import parse_job_spec

    from .fakejob import fake_spec

    settings = {"tuning": {"strategy": "random", "max_jobs": 2, "max_parallel_jobs": 2, "random_seed": 2}}
    backend = LocalBackend(tmp_path / "jobs", poll_seconds=0.02, grace_seconds=2)
    backend.run(make_request("timed", **settings), parse_job_spec(fake_spec(**settings)))
    job_file = tmp_path / "jobs" / "timed" / "job.json"
    state = json.loads(job_file.read_text())
    end = datetime.fromisoformat(state["HyperParameterTuningEndTime"])
    state["CreationTime"] = (end - timedelta(seconds=3725)).isoformat()
    job_file.write_text(json.dumps(state))
    result = runner.invoke(app, ["status", "timed", "--jobs-dir", str(tmp_path / "jobs")])
    assert result.exit_code == 0, result.output
    assert "elapsed 3725 s" in result.output


def _option_names(command: str) -> set[str]:
    """Every ``--option`` of an hfst command, read from its function's signature."""
    from typing import get_args, get_type_hints

    from typer.models import OptionInfo

    info = next(c for c in app.registered_commands if c.name == command)
    names = set()
    for name, hint in get_type_hints(info.callback, include_extras=True).items():
        option = next((e for e in get_args(hint)[1:] if isinstance(e, OptionInfo)), None)
        if option is not None:
            decls = [d for d in (option.param_decls or ()) if d.startswith("--")]
            names.update(decls or ["--" + name.replace("_", "-")])
    return names


@pytest.mark.parametrize("command", ["validate", "compile"])
def test_every_option_a_hint_recommends_is_an_option_of_the_command(command: str) -> None:
    """Issue 18: compile recommended --train-examples, then answered `No such option: --train-examples`."""
    import re

    result = runner.invoke(app, [command, str(EXAMPLE_SPEC), "--max-cost", "1"])
    assert result.exit_code == 0, result.output
    hinted = set(re.findall(r"(--[a-z][a-z-]+)", result.stderr))
    assert "--train-examples" in hinted and "--price-per-hour" in hinted
    assert hinted <= _option_names(command)
    followed = runner.invoke(app, [command, str(EXAMPLE_SPEC), "--train-examples", "1000", "--throughput", "100"])
    assert followed.exit_code == 0, followed.output
    assert "expected ~" in followed.stderr


def test_compile_without_a_sagemaker_section_compiles_the_local_request(tmp_path: Path) -> None:
    """Issue 18: compile targeted SageMaker and exited 2 where validate checked the local backend."""
    data = yaml.safe_load(EXAMPLE_SPEC.read_text())
    data.pop("sagemaker")
    path = _write(tmp_path, data)
    validated = runner.invoke(app, ["validate", str(path)])
    assert validated.exit_code == 0 and "checked for the local backend" in validated.output
    result = runner.invoke(app, ["compile", str(path)])
    assert result.exit_code == 0, result.output
    assert "compiled for the local backend" in result.stderr and "role, region and output_path" in result.stderr
    request = json.loads(result.stdout)
    assert request["TrainingJobDefinition"]["RoleArn"].endswith(":role/hfst-local")
    refused = runner.invoke(app, ["compile", str(path), "--backend", "sagemaker"])
    assert refused.exit_code == 2 and "needs a `sagemaker:` section" in refused.stderr
