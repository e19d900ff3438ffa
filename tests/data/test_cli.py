"""``hfst prepare``: the summary on success; a red message and exit code 2 on a user error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from hf_sagemaker_tuning.cli.data import register

pytestmark = pytest.mark.timeout(120)
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tweet-eval-distilbert.yaml"


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command()
    def other() -> None:  # a second command, as in the real app, so `prepare` is a subcommand
        """Unused."""

    return app


def _spec_file(tmp_path: Path, dataset: dict[str, Any], model: str, **extra: Any) -> Path:
    if not EXAMPLE.is_file():
        pytest.skip("examples/tweet-eval-distilbert.yaml is not in this checkout")
    spec = yaml.safe_load(EXAMPLE.read_text())
    spec["dataset"] = dataset
    spec["training"]["model"] = model
    spec.pop("sagemaker", None)
    spec.update(extra)
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_prepare_command_default_output_and_cache(
    tweeteval: Path, tokenizer: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = {"source": str(tweeteval / "emotion"), "max_train_samples": 200, "max_eval_samples": 50}
    spec = _spec_file(tmp_path, dataset, tokenizer)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    first = runner.invoke(_app(), ["prepare", str(spec)])
    assert first.exit_code == 0, first.output
    assert "prepared now" in first.stdout and "anger, joy, optimism, sadness" in first.stdout
    assert (tmp_path / "prepared" / "tweet-eval-distilbert" / "manifest.json").is_file()
    second = runner.invoke(_app(), ["prepare", str(spec)])
    assert second.exit_code == 0 and "cached" in second.stdout
    forced = runner.invoke(_app(), ["prepare", str(spec), "--force", "--output", str(tmp_path / "elsewhere")])
    assert forced.exit_code == 0 and "prepared now" in forced.stdout
    assert (tmp_path / "elsewhere" / "train" / "state.json").is_file()


def test_prepare_command_user_error_exits_2_without_traceback(tokenizer: str, tmp_path: Path) -> None:
    spec = _spec_file(tmp_path, {"source": str(tmp_path / "missing.jsonl")}, tokenizer)
    result = CliRunner().invoke(_app(), ["prepare", str(spec), "--output", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "error:" in result.stderr and "missing.jsonl" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_prepare_command_bad_spec_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(_app(), ["prepare", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and "nope.yaml" in result.stderr
