"""evaluate.py, the evaluation-only mode: scores a trained model on one channel under the container contract."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tarfile
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.training.conftest import (
    SUBPROCESS_SECONDS,
    SUBPROCESS_TEST_SECONDS,
    TRAINING_DIR,
    container_env,
    metric_regex,
)

EMOTION_TASK = {"task": "tweet_eval/emotion", "official_metric": {"name": "macro-F1", "score": "f1", "classes": None}}


@pytest.fixture(scope="module")
def evaluate_entry() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("hfst_evaluate_entry", TRAINING_DIR / "evaluate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def trained_model(
    train_entry: types.ModuleType, channels: dict[str, Path], tiny_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A model trained for 2 steps on the emotion channels (labels in its config), as training saves it."""
    base = tmp_path_factory.mktemp("trained")
    argv = ["--model_name_or_path", str(tiny_model), "--max_steps", "2", "--per_device_train_batch_size", "16"]
    assert train_entry.main(argv, container_env(base, channels)) == 0
    return base / "model"


@pytest.fixture(scope="module")
def test_with_task(channels: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test channel with the task file ``hfst prepare`` writes when the dataset names its task."""
    folder = tmp_path_factory.mktemp("test-task") / "test"
    shutil.copytree(channels["test"], folder)
    (folder / "hfst_task.json").write_text(json.dumps(EMOTION_TASK))
    return folder


def _environ(base: Path, channels: dict[str, Path], model: Path, test: Path) -> dict[str, str]:
    environ = container_env(base, channels)
    environ.update(SM_CHANNEL_TEST=str(test), SM_CHANNEL_MODEL=str(model))
    return environ


def _lines(stdout: str, prefix: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith(prefix + " ")]


def test_evaluation_scores_the_model_on_test_with_details(
    evaluate_entry: types.ModuleType,
    trained_model: Path,
    test_with_task: Path,
    channels: dict[str, Path],
    emotion_names: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = sorted(p.name for p in trained_model.iterdir())
    status = evaluate_entry.main([], _environ(tmp_path, channels, trained_model, test_with_task))
    out = capsys.readouterr().out
    assert status == 0, (tmp_path / "output" / "failure").read_text() if status else ""
    result = json.loads((tmp_path / "output" / "data" / "evaluation.json").read_text())
    assert result["split"] == "test"
    assert result["examples"] == 16  # the whole channel: no cap by default
    assert result["label_names"] == emotion_names
    matrix = np.asarray(result["confusion_matrix"])
    assert matrix.shape == (4, 4)
    assert matrix.sum() == 16
    assert [row["support"] for row in result["per_class"]] == list(matrix.sum(axis=1))
    assert result["metrics"]["eval_accuracy"] == pytest.approx(np.trace(matrix) / 16)
    assert result["official_metric"]["name"] == "macro-F1"
    assert result["metrics"]["eval_official"] == pytest.approx(result["metrics"]["eval_macro_f1"])  # emotion: macro-F1
    assert result["metrics"]["eval_macro_f1"] == pytest.approx(np.mean([row["f1"] for row in result["per_class"]]))
    (line,) = _lines(out, "hfst_metric")  # read back by the library's own regex
    for name in (
        "eval_loss",
        "eval_accuracy",
        "eval_macro_f1",
        "eval_macro_recall",
        "eval_weighted_f1",
        "eval_official",
    ):
        match = re.search(metric_regex(name), line)
        assert match is not None, name
        assert float(match.group(1)) == result["metrics"][name]
    (details,) = _lines(out, "hfst_evaluation")
    assert json.loads(details.split(" ", 1)[1]) == result
    assert sorted(p.name for p in trained_model.iterdir()) == before  # nothing written to the model
    assert not (tmp_path / "model").exists() or not any((tmp_path / "model").iterdir())


@pytest.mark.timeout(SUBPROCESS_TEST_SECONDS)
def test_the_model_tar_gz_sagemaker_downloads_is_read_like_the_folder(
    trained_model: Path, channels: dict[str, Path], tmp_path: Path
) -> None:
    """As a subprocess, like SageMaker runs it: hyperparameters from input/config, the model channel a tarball."""
    model_channel = tmp_path / "model-channel"
    model_channel.mkdir()
    with tarfile.open(model_channel / "model.tar.gz", "w:gz") as tar:
        for path in sorted(trained_model.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(trained_model)))
    base = tmp_path / "opt-ml"
    (base / "input" / "config").mkdir(parents=True)
    (base / "input" / "config" / "hyperparameters.json").write_text(
        json.dumps({"split": '"validation"', "max_samples": "8", "sagemaker_program": '"evaluate.py"'})
    )
    environ = _environ(base, channels, model_channel, channels["test"])
    result = subprocess.run(
        [sys.executable, "evaluate.py"],
        cwd=TRAINING_DIR,
        env=environ,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_SECONDS,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    evaluation = json.loads((base / "output" / "data" / "evaluation.json").read_text())
    assert evaluation["split"] == "validation"
    assert evaluation["examples"] == 8
    assert evaluation["official_metric"] is None  # the channel names no task
    assert "eval_official" not in evaluation["metrics"]


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--learning_rate", "0.1", "--epochs", "2"], "epochs, learning_rate cannot matter"),
        (["--model_name_or_path", "x"], "model_name_or_path cannot matter"),
        (["--colour", "red"], "unknown hyperparameter(s) colour"),
        (["--split", "dev"], "not one of the allowed values"),
    ],
)
def test_pointless_or_unknown_hyperparameters_fail_the_job_by_name(
    evaluate_entry: types.ModuleType, channels: dict[str, Path], tmp_path: Path, argv: list[str], named: str
) -> None:
    status = evaluate_entry.main(argv, _environ(tmp_path, channels, tmp_path / "nowhere", channels["test"]))
    assert status == 1
    reason = (tmp_path / "output" / "failure").read_text()
    assert named in reason
    assert "Traceback" not in reason


def test_a_model_trained_on_other_labels_is_refused(
    evaluate_entry: types.ModuleType, tiny_model: Path, channels: dict[str, Path], tmp_path: Path
) -> None:
    status = evaluate_entry.main([], _environ(tmp_path, channels, tiny_model, channels["test"]))
    assert status == 1
    assert "it was trained on other data" in (tmp_path / "output" / "failure").read_text()


def test_a_model_channel_without_a_model_names_what_it_holds(
    evaluate_entry: types.ModuleType, channels: dict[str, Path], tmp_path: Path
) -> None:
    empty = tmp_path / "model"
    empty.mkdir()
    (empty / "notes.txt").write_text("x")
    assert evaluate_entry.main([], _environ(tmp_path / "base", channels, empty, channels["test"])) == 1
    assert "notes.txt" in (tmp_path / "base" / "output" / "failure").read_text()


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        ({"score": "recall", "classes": None}, (1 / 2 + 1 / 1 + 1 / 3) / 3),  # sentiment: macro recall
        ({"score": "f1", "classes": ["c"]}, 2 * (1 / 1) * (1 / 3) / (1 + 1 / 3)),  # irony: F1 of one class
        ({"score": "f1", "classes": ["a", "c"]}, (0.4 + 0.5) / 2),  # stance: mean of F1(against), F1(favor)
    ],
)
def test_the_official_metric_averages_one_score_over_the_named_classes(
    definition: dict[str, Any], expected: float
) -> None:
    from hfst_train.scoring import official_score

    labels = np.asarray([0, 0, 1, 2, 2, 2])
    predicted = np.asarray([0, 1, 1, 2, 0, 0])
    assert official_score(labels, predicted, ["a", "b", "c"], definition) == pytest.approx(expected)


def test_training_prints_eval_official_when_the_validation_channel_names_the_task(
    run_inprocess: Any, channels: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    validation = tmp_path / "validation"
    shutil.copytree(channels["validation"], validation)
    (validation / "hfst_task.json").write_text(json.dumps(EMOTION_TASK))
    status, base = run_inprocess(
        {"max_steps": 2, "metric_for_best_model": "eval_official"}, extra_env={"SM_CHANNEL_VALIDATION": str(validation)}
    )
    assert status == 0
    lines = _lines(capsys.readouterr().out, "hfst_metric")
    values = [float(re.search(metric_regex("eval_official"), line).group(1)) for line in lines]  # type: ignore[union-attr]
    final = json.loads((base / "output" / "data" / "metrics.json").read_text())["final"]
    assert values[-1] == final["eval_official"] == pytest.approx(final["eval_macro_f1"])


def test_eval_official_without_a_task_fails_before_training(run_inprocess: Any) -> None:
    status, base = run_inprocess({"max_steps": 2, "metric_for_best_model": "eval_official"})
    assert status == 1
    assert "set dataset.task" in (base / "output" / "failure").read_text()


def test_a_task_file_naming_unknown_classes_is_refused(
    run_inprocess: Any, channels: dict[str, Path], tmp_path: Path
) -> None:
    validation = tmp_path / "validation"
    shutil.copytree(channels["validation"], validation)
    bad = {"task": "x", "official_metric": {"score": "f1", "classes": ["irony"]}}
    (validation / "hfst_task.json").write_text(json.dumps(bad))
    status, base = run_inprocess({"max_steps": 1}, extra_env={"SM_CHANNEL_VALIDATION": str(validation)})
    assert status == 1
    assert "['irony'] that are not label names" in (base / "output" / "failure").read_text()
