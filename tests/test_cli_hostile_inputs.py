"""The hostile class of CLI input (issue 17, item 5): every row exits 2 with one ``error:`` line, no traceback.

Bad spec files (numbers PyYAML or Python cannot read, dates, duplicate keys, non-finite JSON numbers...),
non-finite or out-of-range float options, usage mistakes, unusable paths and environment problems
(``AWS_PROFILE`` naming no profile, ``HFST_STATE_DIR`` naming a file). Rows that change the process
environment run ``hfst`` in a subprocess, so nothing cached in this process hides the problem.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import get_args, get_type_hints

import pytest
import yaml
from typer.models import OptionInfo
from typer.testing import CliRunner

from hf_sagemaker_tuning.cli import app

from .conftest import EXAMPLE_SPEC

runner = CliRunner()
GOOD = EXAMPLE_SPEC.read_text(encoding="utf-8")
HUGE = "9" * 5000


def _json_spec() -> str:
    return json.dumps(yaml.safe_load(GOOD))


#: name -> (file name, file text) of a spec that must be refused with one line.
BAD_SPECS: dict[str, tuple[str, str | bytes]] = {
    "yaml 5000-digit integer": ("job.yaml", GOOD.replace("max_jobs: 20", f"max_jobs: {HUGE}")),
    "json 5000-digit integer": ("job.json", _json_spec().replace('"max_jobs": 20', f'"max_jobs": {HUGE}')),
    "yaml 5000-digit float": ("job.yaml", GOOD.replace("max_length: 128", f"max_length: 0.{HUGE}")),
    "yaml impossible date as name": ("job.yaml", GOOD.replace("name: tweet-eval-distilbert", "name: 2001-13-45")),
    "yaml date as name": ("job.yaml", GOOD.replace("name: tweet-eval-distilbert", "name: 2001-12-25")),
    "yaml !!float abc": ("job.yaml", GOOD.replace("max_length: 128", "max_length: !!float abc")),
    "yaml !!int abc": ("job.yaml", GOOD.replace("max_length: 128", "max_length: !!int abc")),
    "yaml !!timestamp abc": ("job.yaml", GOOD.replace("max_length: 128", "max_length: !!timestamp abc")),
    "yaml duplicate top-level key": ("job.yaml", GOOD + "tuning:\n  strategy: random\n  max_jobs: 3\n"),
    "yaml duplicate nested key": ("job.yaml", GOOD.replace("  max_length: 128", "  max_length: 128\n  max_length: 64")),
    "yaml duplicate key in a flow mapping": (
        "job.yaml",
        GOOD.replace("{kind: integer, min: 0, max: 500}", "{kind: integer, min: 0, max: 500, max: 9}"),
    ),
    "json duplicate key": ("job.json", _json_spec().replace('"name":', '"name": "a", "name":', 1)),
    "json NaN": ("job.json", _json_spec().replace('"max_jobs": 20', '"max_jobs": NaN')),
    "json Infinity": ("job.json", _json_spec().replace('"max_jobs": 20', '"max_jobs": -Infinity')),
    "json 1e999": ("job.json", _json_spec().replace('"max_jobs": 20', '"max_jobs": 1e999')),
    "json syntax error": ("job.json", _json_spec()[:-5]),
    "yaml python tag": ("job.yaml", GOOD.replace("max_length: 128", "max_length: !!python/object:os.system x")),
    "yaml two documents": ("job.yaml", GOOD + "---\nname: other\n"),
    "yaml tab indentation": ("job.yaml", "name: x\ndataset:\n\tsource: y\n"),
    "yaml unclosed bracket": ("job.yaml", "name: [unclosed\n"),
    "yaml alias": ("job.yaml", "name: &n x\nother: *n\n"),
    "yaml unhashable key": ("job.yaml", "? [a, b]\n: 1\n"),
    "not utf-8": ("job.yaml", b"name: \xff\xfe\n"),
    "NUL byte": ("job.yaml", "name: a\x00b\n"),
    "empty": ("job.yaml", ""),
    "a list, not a mapping": ("job.yaml", "- a\n- b\n"),
    "over 1 MiB": ("job.yaml", "# " + "x" * (1024 * 1024) + "\n" + GOOD),
}


def _one_line(stderr: str, exit_code: int, output: str = "") -> str:
    assert exit_code == 2, output or stderr
    assert "Traceback" not in output + stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    return lines[0]


def _invoke(args: list[str], env: dict[str, str] | None = None) -> str:
    result = runner.invoke(app, args, env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return _one_line(result.stderr, result.exit_code, result.output)


@pytest.mark.parametrize("case", sorted(BAD_SPECS))
@pytest.mark.parametrize("command", ["validate", "compile"])
def test_a_bad_spec_file_is_one_line_and_exit_2(tmp_path: Path, case: str, command: str) -> None:
    name, text = BAD_SPECS[case]
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    line = _invoke([command, str(path)])
    assert str(path) in line


@pytest.mark.parametrize(
    ("case", "fragment"),
    [
        ("yaml duplicate top-level key", "duplicate key 'tuning' (first at line 27)"),
        ("yaml duplicate nested key", "line 13, column 3: duplicate key 'max_length' (first at line 12)"),
        ("json duplicate key", "duplicate key 'name'"),
        ("yaml impossible date as name", "line 6, column 7: YAML reads 2001-13-45 as a date"),
        ("yaml 5000-digit integer", "a number of 5,000 characters"),
        ("json 5000-digit integer", "a number of 5,000 characters"),
        ("yaml !!int abc", "'abc' is not an integer"),
        ("json NaN", "NaN is not JSON"),
    ],
)
def test_the_line_names_the_problem(tmp_path: Path, case: str, fragment: str) -> None:
    name, text = BAD_SPECS[case]
    path = tmp_path / name
    path.write_text(str(text), encoding="utf-8")
    assert fragment in _invoke(["validate", str(path)])


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["deploy", "x", "--timeout", "nan"], "--timeout"),
        (["deploy", "x", "--timeout", "inf"], "--timeout"),
        (["deploy", "x", "--timeout", "0"], "--timeout"),
        (["deploy", "x", "--port", "70000"], "--port"),
        (["deploy", "x", "--port", "-5"], "--port"),
        (["deploy", "x", "--threads", "0"], "--threads"),
        (["validate", "{spec}", "--price-per-hour", "inf"], "--price-per-hour"),
        (["validate", "{spec}", "--price-per-hour", "nan"], "--price-per-hour"),
        (["validate", "{spec}", "--throughput", "inf"], "--throughput"),
        (["validate", "{spec}", "--max-cost", "nan"], "--max-cost"),
        (["compile", "{spec}", "--price-per-hour", "inf"], "--price-per-hour"),
        (["tune", "{spec}", "--max-cost", "inf"], "--max-cost"),
        (["tune", "{spec}", "--price-per-hour", "nan"], "--price-per-hour"),
        (["retrain", "x", "--epochs", "nan"], "--epochs"),
        (["retrain", "x", "--epochs", "-1"], "--epochs"),
        (["narrow", "x", "--top", "inf"], "--top"),
        (["validate", "{spec}", "--train-examples", "0"], "--train-examples"),
        (["validate", "{spec}", "--format", "xml"], "--format"),
        (["validate", "{spec}", "--no-such-option"], "--no-such-option"),
        (["validate"], "SPEC"),
        (["no-such-command"], "no-such-command"),
        (["tune", "{spec}", "--jobs-dir", "{file}"], "is a file"),
        (["tune", "{spec}", "--jobs-dir", "{file}/jobs"], "which is a file"),
        (["status", "x", "--jobs-dir", "{file}"], "is a file"),
        (["status", "a" * 5000], "File name too long"),
        (["predict", "a" * 5000, "hi"], "(5,000 characters)"),
        (["undeploy", "../../etc/passwd"], "invalid endpoint name"),
        (["validate", "b" * 5000 + ".yaml"], "File name too long"),
        (["validate", "{folder}"], "is a folder"),
        (["schema", "-o", "{file}/schema.json"], "does not exist"),
    ],
)
def test_bad_options_paths_and_usage_are_one_line_and_exit_2(tmp_path: Path, args: list[str], fragment: str) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    values = {"spec": str(EXAMPLE_SPEC), "file": str(afile), "folder": str(tmp_path)}
    line = _invoke([arg.format(**values) for arg in args])
    assert fragment in line


@pytest.mark.parametrize("state_dir", ["{file}", "{file}/sub"])
def test_a_state_dir_that_is_a_file_is_one_line(tmp_path: Path, state_dir: str) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    line = _invoke(["endpoints"], env={"HFST_STATE_DIR": state_dir.format(file=afile)})
    assert "HFST_STATE_DIR" in line and str(afile) in line


def _hfst(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    script = "from hf_sagemaker_tuning.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=cwd,
        timeout=240,
        check=False,
    )


@pytest.mark.timeout(600)
def test_an_aws_profile_that_does_not_exist_leaves_offline_commands_working(tmp_path: Path) -> None:
    """botocore's ``ProfileNotFound`` came from reading the service model through a session; the offline checks
    and the local backend never talk to AWS, so a bad ``AWS_PROFILE`` does not concern them."""
    spec = yaml.safe_load(GOOD)
    spec.pop("sagemaker")
    spec["dataset"] = {"source": str(tmp_path / "no-such-data")}
    local = tmp_path / "local.yaml"
    local.write_text(yaml.safe_dump(spec))
    env = {"AWS_PROFILE": "nosuch"}
    validated = _hfst(["validate", str(EXAMPLE_SPEC)], env, tmp_path)
    assert validated.returncode == 0, validated.stderr
    compiled = _hfst(["compile", str(EXAMPLE_SPEC)], env, tmp_path)
    assert compiled.returncode == 0, compiled.stderr
    assert json.loads(compiled.stdout)["HyperParameterTuningJobName"].startswith("tweet-eval")
    tuned = _hfst(["tune", str(local), "--jobs-dir", str(tmp_path / "jobs")], env, tmp_path)
    line = _one_line(tuned.stderr, tuned.returncode)
    assert "no-such-data" in line  # the data is the problem, not the profile


@pytest.mark.timeout(300)
def test_an_aws_profile_that_does_not_exist_is_one_line_where_aws_is_needed(tmp_path: Path) -> None:
    result = _hfst(["status", "some-sagemaker-job", "--backend", "sagemaker"], {"AWS_PROFILE": "nosuch"}, tmp_path)
    line = _one_line(result.stderr, result.returncode)
    assert "nosuch" in line


def _float_options() -> list[tuple[str, str, int]]:
    """(command, option, required arguments) for every float option, read from the commands' signatures."""
    found = []
    for info in app.registered_commands:
        hints = get_type_hints(info.callback, include_extras=True)
        required = 0
        for name, parameter in inspect.signature(info.callback).parameters.items():
            base, *extras = get_args(hints[name]) or (hints[name],)
            option = next((e for e in extras if isinstance(e, OptionInfo)), None)
            if option is None:
                required += parameter.default is inspect.Parameter.empty
                continue
            if base is float or float in get_args(base):
                decls = [d for d in (option.param_decls or ()) if d.startswith("--")]
                found.append((str(info.name), decls[0] if decls else "--" + name.replace("_", "-"), required))
    return found


def test_every_float_option_refuses_non_finite_numbers() -> None:
    """Walks the app: a float option added later without the ``finite`` check fails here."""
    options = _float_options()
    assert {("deploy", "--timeout"), ("validate", "--throughput"), ("retrain", "--epochs")} <= {
        (name, option) for name, option, _ in options
    }
    assert len(options) >= 10
    for name, option, required in options:
        for value in ("nan", "inf", "-inf"):
            line = _invoke([name, *(["x"] * required), option, value])
            assert option in line, (name, option, value)
