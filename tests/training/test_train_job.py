"""train.py as a job under a fake /opt/ml: outputs, metric lines, failures, spot resume."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hfst_train.hparams import load_declarations
from hfst_train.metrics import load_metric_declarations

from tests.training.conftest import (
    SUBPROCESS_SECONDS,
    SUBPROCESS_TEST_SECONDS,
    TRAINING_DIR,
    container_env,
    metric_regex,
)

Runner = Callable[..., tuple[int, Path]]


def _write_config(base: Path, hyperparameters: dict[str, str]) -> None:
    config = base / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))


def _metric_lines(stdout: str) -> list[dict[str, float]]:
    _, declared = load_metric_declarations()
    parsed = []
    for line in stdout.splitlines():
        if line.startswith("hfst_metric"):
            found = {name: re.search(metric_regex(name), line) for name in declared}  # eval_official: with a task only
            parsed.append({name: float(match.group(1)) for name, match in found.items() if match is not None})
    return parsed


@pytest.mark.slow
@pytest.mark.timeout(SUBPROCESS_TEST_SECONDS)
def test_subprocess_job_writes_a_complete_model_and_readable_metrics(
    tmp_path: Path, channels: dict[str, Path], tiny_model: Path, emotion_names: list[str]
) -> None:
    base = tmp_path / "opt-ml"
    # the same values through all three contract sources, as SageMaker passes them (JSON-quoted strings)
    _write_config(base, {"epochs": "2", "optimizer": '"adamw"', "sagemaker_program": '"train.py"'})
    environ = container_env(base, channels, with_test=True)
    environ["SM_HPS"] = json.dumps({"epochs": 2, "_tuning_objective_metric": "eval_macro_f1", "optimizer": "adamw"})
    argv = ["--model_name_or_path", json.dumps(str(tiny_model)), "--epochs", "2", "--optimizer", '"adamw"']
    argv += ["--per_device_train_batch_size", "16", "--learning_rate", "0.001", "--weight_decay", "0.01"]
    result = subprocess.run(
        [sys.executable, "train.py", *argv],
        cwd=TRAINING_DIR,
        env=environ,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_SECONDS,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert not (base / "output" / "failure").exists()

    model_dir = base / "model"
    config = json.loads((model_dir / "config.json").read_text())
    assert [config["id2label"][str(i)] for i in range(4)] == emotion_names
    assert config["label2id"] == {name: i for i, name in enumerate(emotion_names)}
    assert (model_dir / "model.safetensors").is_file()
    assert not list(model_dir.glob("*.bin"))
    assert (model_dir / "tokenizer_config.json").is_file()
    assert (model_dir / "code" / "inference.py").read_text() == (TRAINING_DIR / "inference.py").read_text()
    assert (model_dir / "code" / "requirements.txt").is_file()

    lines = _metric_lines(result.stdout)
    assert [line["step"] for line in lines[:-1]] == [4.0, 8.0]  # once per epoch
    assert [line["epoch"] for line in lines[:-1]] == [1.0, 2.0]
    report = json.loads((base / "output" / "data" / "metrics.json").read_text())
    final = report["final"]
    assert lines[-1] == pytest.approx({k: float(v) for k, v in final.items()}, nan_ok=True)
    assert result.stdout.strip().splitlines()[-1].startswith("hfst_metric")  # the kept model's line is last
    assert final["step"] == report["saved"]["step"]
    assert set(report["test"]) == {
        "test_loss",
        "test_accuracy",
        "test_macro_f1",
        "test_macro_recall",
        "test_weighted_f1",
    }
    for line in lines:
        assert 0.5 < line["eval_loss"] < 3.0  # mean cross-entropy of 4 classes, not divided by a batch size
        assert 0.0 <= line["eval_accuracy"] <= 1.0
        assert line["train_samples_per_second"] > 0

    effective = json.loads((base / "output" / "data" / "effective_config.json").read_text())
    assert effective["optimizer"]["class"] == "torch.optim.adamw.AdamW"
    assert [g["weight_decay"] for g in effective["optimizer"]["param_groups"]] == [0.01, 0.0]
    assert effective["hyperparameters"]["epochs"] == 2.0
    assert set(effective["hyperparameters"]) == set(load_declarations())
    assert (base / "checkpoints" / "state.pt").is_file()


@pytest.mark.timeout(SUBPROCESS_TEST_SECONDS)
def test_unknown_hyperparameter_fails_the_job_naming_it(tmp_path: Path, channels: dict[str, Path]) -> None:
    environ = container_env(tmp_path, channels)
    result = subprocess.run(
        [sys.executable, "train.py", "--epochs", "1", "--optim", "adamw"],
        cwd=TRAINING_DIR,
        env=environ,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_SECONDS,
    )
    assert result.returncode != 0
    failure = (tmp_path / "output" / "failure").read_text()
    assert "unknown hyperparameter(s) optim;" in failure
    assert "learning_rate" in failure
    assert "optimizer" in failure
    assert "Traceback" not in result.stderr


def test_out_of_range_value_fails_with_a_clear_message(run_inprocess: Runner) -> None:
    status, base = run_inprocess({"warmup_ratio": 2})
    assert status == 1
    failure = (base / "output" / "failure").read_text()
    assert "hyperparameter 'warmup_ratio': 2.0 is above the maximum 1 (inclusive)" in failure


def test_existing_failure_file_is_not_overwritten(run_inprocess: Runner, tmp_path: Path) -> None:
    (tmp_path / "output").mkdir()
    (tmp_path / "output" / "failure").write_text("first reason\n")
    status, _ = run_inprocess({"optimizer": "lamb"}, base=tmp_path)
    assert status == 1
    assert (tmp_path / "output" / "failure").read_text() == "first reason\n"


def test_missing_channel_fails_with_the_channel_named(run_inprocess: Runner, tmp_path: Path) -> None:
    status, base = run_inprocess({"max_steps": 1}, extra_env={"SM_CHANNEL_VALIDATION": str(tmp_path / "nope")})
    assert status == 1
    assert "channel 'validation'" in (base / "output" / "failure").read_text()


def test_nan_loss_fails_fast_naming_the_step(run_inprocess: Runner, capsys: pytest.CaptureFixture[str]) -> None:
    status, base = run_inprocess(
        {"max_steps": 6, "per_device_train_batch_size": 8}, extra_env={"HFST_TEST_INJECT_NAN_AT_STEP": "3"}
    )
    assert status == 1
    failure = (base / "output" / "failure").read_text()
    assert failure.startswith("NonFiniteLossError: training loss became NaN or infinite at optimizer step 3")
    assert not (base / "model" / "model.safetensors").exists()
    assert "hfst_metric" not in capsys.readouterr().out


def _final(base: Path) -> dict[str, Any]:
    return dict(json.loads((base / "output" / "data" / "metrics.json").read_text()))


@pytest.mark.timeout(120)
def test_resume_continues_from_the_saved_step(
    run_inprocess: Runner, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    args = {"max_steps": 6, "eval_steps": 2, "per_device_train_batch_size": 16, "learning_rate": 1e-3, "dropout": 0.2}
    status, reference = run_inprocess(args)
    assert status == 0
    capsys.readouterr()

    base = tmp_path / "interrupted"
    with pytest.raises(SystemExit) as stopped:  # a spot interruption right after the step-4 checkpoint
        run_inprocess(args, base=base, extra_env={"HFST_TEST_STOP_AFTER_STEP": "4"})
    assert stopped.value.code == 75
    first = capsys.readouterr().out
    assert [line["step"] for line in _metric_lines(first)] == [2.0, 4.0]
    assert not (base / "model" / "config.json").exists()

    status, _ = run_inprocess(args, base=base)
    assert status == 0
    second = capsys.readouterr().out
    assert "resumed from the checkpoint" in second
    assert "at step 4" in second
    assert next(line["step"] for line in _metric_lines(second)) == 6.0  # continues; does not redo steps 1-4
    resumed = _final(base)
    assert [e["step"] for e in resumed["evaluations"]] == [2, 4, 6]
    # same data order, same RNG, same optimizer state: the resumed run ends where the uninterrupted one does
    expected = _final(reference)
    for got, want in zip(resumed["evaluations"], expected["evaluations"], strict=True):
        assert got["eval_loss"] == pytest.approx(want["eval_loss"], rel=1e-6)
        assert got["train_loss"] == pytest.approx(want["train_loss"], rel=1e-6)
    effective = json.loads((base / "output" / "data" / "effective_config.json").read_text())
    assert effective["resumed_from_step"] == 4


def test_checkpoint_of_another_configuration_is_refused(run_inprocess: Runner) -> None:
    status, base = run_inprocess({"max_steps": 2, "per_device_train_batch_size": 16})
    assert status == 0
    status, _ = run_inprocess({"max_steps": 2, "per_device_train_batch_size": 16, "seed": 3}, base=base)
    assert status == 1
    assert "written with other values of ['seed']" in (base / "output" / "failure").read_text()
