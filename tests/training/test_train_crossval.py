"""Cross-validation, repeated seeds and the refit inside the bundled training package (tiny model, k = 2)."""

from __future__ import annotations

import json
import re
import shutil
import statistics
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hf_sagemaker_tuning import contract
from hf_sagemaker_tuning.data._folds import single_label_folds

from .conftest import container_env

FAST = {"max_steps": 2, "per_device_train_batch_size": 8, "eval_steps": 0, "save_model": "last"}


@pytest.fixture
def fold_channels(channels: dict[str, Path], tmp_path: Path) -> dict[str, Path]:
    """The session's channels copied, with a 2-fold assignment of train + validation (stratified)."""
    import datasets

    out = {name: Path(shutil.copytree(path, tmp_path / name)) for name, path in channels.items()}
    labels = {name: list(datasets.load_from_disk(str(out[name]))["label"]) for name in ("train", "validation")}
    assigned = single_label_folds(labels["train"] + labels["validation"], 2, seed=0)
    n = len(labels["train"])
    folds = {"folds": 2, "seed": 0, "sources": ["train", "validation"], "train": assigned[:n]}
    folds["validation"] = assigned[n:]
    (out["train"] / "hfst_folds.json").write_text(json.dumps(folds), encoding="utf-8")
    return out


def _run(
    entry: types.ModuleType, channels: dict[str, Path], model: Path, base: Path, args: dict[str, Any], **env: str
) -> int:
    environ = container_env(base, channels)
    environ.update(env)
    argv = ["--model_name_or_path", str(model)]
    for name, value in {**FAST, **args}.items():
        argv += [f"--{name}", json.dumps(value) if not isinstance(value, str) else value]
    status: int = entry.main(argv, environ)
    return status


def _last(name: str, text: str) -> float:
    values = re.findall(contract.metric_regex(name), text)
    assert values, f"{name} not printed"
    return float(values[-1])


Capture = pytest.CaptureFixture[str]


def test_two_folds_print_each_fold_then_the_mean_and_std_read_by_the_generated_regexes(
    train_entry: types.ModuleType, fold_channels: dict[str, Path], tiny_model: Path, tmp_path: Path, capsys: Capture
) -> None:
    status = _run(train_entry, fold_channels, tiny_model, tmp_path, {"cv_folds": 2})
    out = capsys.readouterr().out
    assert status == 0, out
    folds = [_last(f"eval_fold{i}_macro_f1", out) for i in range(2)]
    assert _last("eval_cv_macro_f1", out) == pytest.approx(statistics.fmean(folds))
    assert _last("eval_cv_macro_f1_std", out) == pytest.approx(statistics.stdev(folds))
    assert _last("eval_cv_steps", out) == 2.0
    assert out.rstrip().splitlines()[-1].endswith(" eval_cv_runs=2")  # AMT reads the last value: the mean
    report = json.loads((tmp_path / "output" / "data" / "metrics.json").read_text(encoding="utf-8"))
    runs = report["cross_validation"]["runs"]
    assert [run["fold"] for run in runs] == [0, 1]
    sizes = [len(json.loads((fold_channels["train"] / "hfst_folds.json").read_text())["train"])]
    assert sizes == [64]
    assert "96 examples (train + validation)" in out
    model_dir = tmp_path / "model"
    assert not (model_dir / "config.json").exists()  # no model per fold unless asked
    assert not (model_dir / "folds").exists()
    assert json.loads((model_dir / "hfst_cross_validation.json").read_text())["mean_steps"] == 2.0
    assert not (tmp_path / "checkpoints" / "runs").exists() or not any((tmp_path / "checkpoints" / "runs").iterdir())


def test_a_cross_validated_trial_is_tracked_as_one_run_with_each_fold_and_the_mean(
    train_entry: types.ModuleType, fold_channels: dict[str, Path], tiny_model: Path, tmp_path: Path, capsys: Capture
) -> None:
    """The tracker (TensorBoard here; MLflow shares the calls) gets every fold's evaluations and the mean."""
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = tmp_path / "tensorboard"
    status = _run(
        train_entry,
        fold_channels,
        tiny_model,
        tmp_path,
        {"cv_folds": 2},
        HFST_TENSORBOARD="1",
        HFST_TENSORBOARD_DIR=str(events),
    )
    out = capsys.readouterr().out
    assert status == 0, out
    accumulator = EventAccumulator(str(events))
    accumulator.Reload()
    tags = set(accumulator.Tags()["scalars"])
    assert {"eval_fold0_macro_f1", "eval_fold1_macro_f1", "eval_cv_macro_f1", "eval_cv_macro_f1_std"} <= tags
    assert "fold" not in tags
    (mean,) = accumulator.Scalars("eval_cv_macro_f1")
    assert mean.value == pytest.approx(_last("eval_cv_macro_f1", out), abs=1e-6)
    assert len(accumulator.Scalars("eval_macro_f1")) >= 2  # each fold's own evaluations too


def test_folds_start_from_the_same_weights_so_the_same_fold_gives_the_same_score(
    train_entry: types.ModuleType, fold_channels: dict[str, Path], tiny_model: Path, tmp_path: Path, capsys: Capture
) -> None:
    assert _run(train_entry, fold_channels, tiny_model, tmp_path / "a", {"cv_folds": 2, "cv_keep_models": True}) == 0
    first = capsys.readouterr().out
    assert _run(train_entry, fold_channels, tiny_model, tmp_path / "b", {"cv_folds": 2}) == 0
    second = capsys.readouterr().out
    assert _last("eval_cv_loss", first) == _last("eval_cv_loss", second)
    assert (tmp_path / "a" / "model" / "folds" / "fold1-seed42" / "config.json").is_file()  # kept when asked


def test_a_failing_fold_fails_the_trial_naming_the_fold(
    train_entry: types.ModuleType, fold_channels: dict[str, Path], tiny_model: Path, tmp_path: Path
) -> None:
    status = _run(train_entry, fold_channels, tiny_model, tmp_path, {"cv_folds": 2}, HFST_TEST_INJECT_NAN_AT_STEP="1")
    assert status == 1
    reason = (tmp_path / "output" / "failure").read_text(encoding="utf-8")
    assert "FoldError: fold 0 of 2, seed 42 failed: NonFiniteLossError" in reason


def test_without_a_fold_file_the_job_says_how_to_get_one(
    train_entry: types.ModuleType, channels: dict[str, Path], tiny_model: Path, tmp_path: Path
) -> None:
    assert _run(train_entry, channels, tiny_model, tmp_path, {"cv_folds": 2}) == 1
    reason = (tmp_path / "output" / "failure").read_text(encoding="utf-8")
    assert "no fold assignment" in reason and "tuning.cross_validation" in reason


def test_folds_other_than_prepared_are_refused(
    train_entry: types.ModuleType, fold_channels: dict[str, Path], tiny_model: Path, tmp_path: Path
) -> None:
    assert _run(train_entry, fold_channels, tiny_model, tmp_path, {"cv_folds": 3}) == 1
    assert "prepared with 2 folds" in (tmp_path / "output" / "failure").read_text(encoding="utf-8")


def test_repeats_train_each_seed_and_score_the_mean(
    train_entry: types.ModuleType, channels: dict[str, Path], tiny_model: Path, tmp_path: Path, capsys: Capture
) -> None:
    assert _run(train_entry, channels, tiny_model, tmp_path, {"cv_repeats": 2, "seed": 7}) == 0
    out = capsys.readouterr().out
    assert "run 2: seed 8" in out
    assert out.rstrip().splitlines()[-1].endswith(" eval_cv_runs=2")
    assert _last("eval_cv_accuracy_std", out) >= 0.0


def test_refit_trains_on_train_and_validation_and_saves_a_servable_model(
    train_entry: types.ModuleType, fold_channels: dict[str, Path], tiny_model: Path, tmp_path: Path, capsys: Capture
) -> None:
    assert _run(train_entry, fold_channels, tiny_model, tmp_path, {"cv_refit": True, "max_steps": 3}) == 0
    out = capsys.readouterr().out
    assert "refit on 96 examples (train + validation)" in out
    assert "96 train" in out
    assert (tmp_path / "model" / "config.json").is_file()
    assert _last("step", out) == 3


def test_refit_refuses_to_keep_the_best_checkpoint(
    train_entry: types.ModuleType, fold_channels: dict[str, Path], tiny_model: Path, tmp_path: Path
) -> None:
    assert _run(train_entry, fold_channels, tiny_model, tmp_path, {"cv_refit": True, "save_model": "best"}) == 1
    assert "keeps the last model" in (tmp_path / "output" / "failure").read_text(encoding="utf-8")


Runner = Callable[..., Any]
