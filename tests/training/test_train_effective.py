"""Every declared hyperparameter takes effect: it changes the effective configuration or the trajectory.

Config-level cases build the run in-process (model, data, optimizer, schedule) and compare
``effective_config``; trajectory cases run a whole job in-process and compare its metrics.
A declared hyperparameter without a case fails ``test_every_declared_hyperparameter_has_a_case``.
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import torch
from hfst_train.hparams import load_declarations, resolve
from hfst_train.paths import ContainerPaths
from hfst_train.setup import build_setup, effective_config, load_splits

from tests.training.conftest import container_env

# importing torch.compile's machinery warns from inside torch itself (third party, not ours)
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")

BASE = {"epochs": 1, "per_device_train_batch_size": 16, "per_device_eval_batch_size": 32, "learning_rate": 1e-3}
OTHER_MODEL = "<other tiny model>"
Observed = dict[str, Any]  # {"config": effective_config, "metrics": metrics.json or None}


@dataclass(frozen=True)
class Case:
    change: dict[str, Any]
    check: Callable[[Observed, Observed], bool]
    also: dict[str, Any] = field(default_factory=dict)  # set in both runs
    trajectory: bool = False  # needs a real (short) training run
    multilabel: bool = False  # runs on multi-label channels (a multi-label hyperparameter)


def _groups(observed: Observed) -> dict[str, dict[str, Any]]:
    return {group["group"]: group for group in observed["config"]["optimizer"]["param_groups"]}


def _evals(observed: Observed) -> list[dict[str, Any]]:
    return list(observed["metrics"]["evaluations"])


def _best_step(observed: Observed, metric: str, lower: bool) -> int:
    evals = _evals(observed)
    values = [e[metric] for e in evals]
    target = min(values) if lower else max(values)
    return int(evals[values.index(target)]["step"])


CASES: dict[str, Case] = {
    "model_name_or_path": Case(
        {"model_name_or_path": OTHER_MODEL},
        lambda b, c: c["config"]["model"]["num_parameters"] > b["config"]["model"]["num_parameters"],
    ),
    "epochs": Case(
        {"epochs": 2.5},
        lambda b, c: (b["config"]["steps"]["total_steps"], c["config"]["steps"]["total_steps"]) == (4, 10),
    ),
    "max_steps": Case(
        {"max_steps": 3},
        lambda b, c: c["config"]["scheduler"]["total_steps"] == 3 != b["config"]["scheduler"]["total_steps"],
    ),
    "per_device_train_batch_size": Case(
        {"per_device_train_batch_size": 8},
        lambda b, c: (
            (b["config"]["steps"]["steps_per_epoch"], c["config"]["steps"]["steps_per_epoch"]) == (4, 8)
            and len(c["config"]["data"]["epoch0_first_batch"]) == 8
        ),
    ),
    "per_device_eval_batch_size": Case(
        {"per_device_eval_batch_size": 5},
        # a different eval batching must not change the (honest, per-example) eval loss
        lambda b, c: (
            c["config"]["steps"]["eval_batch_size"] == 5
            and math.isclose(_evals(b)[-1]["eval_loss"], _evals(c)[-1]["eval_loss"], rel_tol=1e-5)
        ),
        trajectory=True,
    ),
    "learning_rate": Case(
        {"learning_rate": 3e-4}, lambda b, c: {g["initial_lr"] for g in _groups(c).values()} == {3e-4}
    ),
    "lr_scheduler_type": Case(
        {"lr_scheduler_type": "cosine"},
        lambda b, c: c["config"]["scheduler"]["lr_multiplier_trace"] != b["config"]["scheduler"]["lr_multiplier_trace"],
    ),
    "warmup_steps": Case(
        {"warmup_steps": 2},
        lambda b, c: (
            c["config"]["scheduler"]["warmup_steps"] == 2
            and c["config"]["scheduler"]["lr_multiplier_trace"][0] == [0, 0.0]
        ),
    ),
    "warmup_ratio": Case({"warmup_ratio": 0.5}, lambda b, c: c["config"]["scheduler"]["warmup_steps"] == 2),
    "weight_decay": Case(
        {"weight_decay": 0.1},
        lambda b, c: (_groups(c)["decay"]["weight_decay"], _groups(c)["no_decay"]["weight_decay"]) == (0.1, 0.0),
    ),
    "optimizer": Case({"optimizer": "sgd"}, lambda b, c: c["config"]["optimizer"]["class"] == "torch.optim.sgd.SGD"),
    "adam_beta1": Case({"adam_beta1": 0.8}, lambda b, c: _groups(c)["decay"]["betas"] == [0.8, 0.999]),
    "adam_beta2": Case({"adam_beta2": 0.98}, lambda b, c: _groups(c)["decay"]["betas"] == [0.9, 0.98]),
    "adam_epsilon": Case({"adam_epsilon": 1e-6}, lambda b, c: _groups(c)["no_decay"]["eps"] == 1e-6),
    "sgd_momentum": Case(
        {"sgd_momentum": 0.5}, lambda b, c: _groups(c)["decay"]["momentum"] == 0.5, also={"optimizer": "sgd"}
    ),
    "max_grad_norm": Case(
        {"max_grad_norm": 1e-3},
        lambda b, c: (
            c["config"]["loss"]["max_grad_norm"] == 1e-3
            and abs(_evals(b)[-1]["eval_loss"] - _evals(c)[-1]["eval_loss"]) > 1e-6
        ),
        also={"optimizer": "sgd", "learning_rate": 0.5},
        trajectory=True,
    ),
    "gradient_accumulation_steps": Case(
        {"gradient_accumulation_steps": 2},
        lambda b, c: (
            (c["config"]["steps"]["total_steps"], c["config"]["steps"]["effective_train_batch_size"]) == (2, 32)
        ),
    ),
    "label_smoothing": Case(
        {"label_smoothing": 0.5},
        lambda b, c: (
            c["config"]["loss"]["label_smoothing"] == 0.5
            and abs(_evals(b)[-1]["train_loss"] - _evals(c)[-1]["train_loss"]) > 1e-4
        ),
        trajectory=True,
    ),
    "dropout": Case(
        {"dropout": 0.3},
        lambda b, c: (
            set(c["config"]["model"]["dropout"]["config"].values()) == {0.3}
            and c["config"]["model"]["dropout"]["modules"] == [0.3]
            and b["config"]["model"]["dropout"]["modules"] == [0.1]
        ),
    ),
    "seed": Case(
        {"seed": 7}, lambda b, c: c["config"]["data"]["epoch0_first_batch"] != b["config"]["data"]["epoch0_first_batch"]
    ),
    "precision": Case(
        {"precision": "bf16"},
        lambda b, c: (
            (b["config"]["precision"]["autocast_dtype"], c["config"]["precision"]["autocast_dtype"])
            == (None, "torch.bfloat16")
        ),
    ),
    "eval_steps": Case({"eval_steps": 1}, lambda b, c: (len(_evals(b)), len(_evals(c))) == (1, 4), trajectory=True),
    "metric_for_best_model": Case(
        {"metric_for_best_model": "eval_loss"},
        lambda b, c: (
            c["metrics"]["saved"]["step"] == _best_step(c, "eval_loss", lower=True)
            and c["config"]["selection"]["mode"] == "min"
        ),
        also={"eval_steps": 1},
        trajectory=True,
    ),
    "save_model": Case(
        {"save_model": "last"},
        lambda b, c: c["metrics"]["final"] == _evals(c)[-1] and c["metrics"]["saved"]["strategy"] == "last",
        also={"eval_steps": 1},
        trajectory=True,
    ),
    "group_by_length": Case(
        {"group_by_length": False},
        lambda b, c: c["config"]["data"]["epoch0_padding_ratio"] > b["config"]["data"]["epoch0_padding_ratio"] + 0.05,
    ),
    "pad_to_multiple_of": Case(
        {"pad_to_multiple_of": 32},
        lambda b, c: c["config"]["data"]["epoch0_padding_ratio"] > b["config"]["data"]["epoch0_padding_ratio"],
    ),
    "torch_compile": Case(
        {"torch_compile": True}, lambda b, c: c["config"]["model"]["train_module"] == "OptimizedModule"
    ),
    "gradient_checkpointing": Case(
        {"gradient_checkpointing": True},
        lambda b, c: (
            (b["config"]["model"]["gradient_checkpointing"], c["config"]["model"]["gradient_checkpointing"])
            == (False, True)
        ),
    ),
    "lora_r": Case(
        {"lora_r": 4},
        # 2 layers x (query, value) x (A: 4x32 + B: 32x4) adapters, plus the 32x4+4 classifier head
        lambda b, c: (
            not b["config"]["model"]["lora"]["enabled"]
            and b["config"]["model"]["lora"]["trainable_parameters"] == b["config"]["model"]["num_parameters"]
            and c["config"]["model"]["lora"]["lora_parameters"] == 4 * (4 * 32 + 32 * 4)
            and c["config"]["model"]["lora"]["trainable_parameters"] == 4 * (4 * 32 + 32 * 4) + 32 * 4 + 4
        ),
    ),
    "lora_alpha": Case(
        {"lora_alpha": 64},
        lambda b, c: c["config"]["model"]["lora"]["alpha"] == 64 != b["config"]["model"]["lora"]["alpha"],
        also={"lora_r": 2},
    ),
    "lora_dropout": Case(
        {"lora_dropout": 0.25},
        lambda b, c: (
            c["config"]["model"]["lora"]["dropout"] == 0.25
            and 0.25 in c["config"]["model"]["dropout"]["modules"]
            and 0.25 not in b["config"]["model"]["dropout"]["modules"]
        ),
        also={"lora_r": 2},
    ),
    "lora_target_modules": Case(
        {"lora_target_modules": "query,key,value"},
        lambda b, c: (
            (b["config"]["model"]["lora"]["target_modules"], c["config"]["model"]["lora"]["target_modules"])
            == (["query", "value"], ["key", "query", "value"])
            and c["config"]["model"]["lora"]["lora_parameters"]
            == 3 * b["config"]["model"]["lora"]["lora_parameters"] // 2
        ),
        also={"lora_r": 2},
    ),
    "threshold": Case(
        {"threshold": 0.05},
        # a low threshold predicts (nearly) every label: micro-F1 changes, and the saved model records it
        lambda b, c: (
            _evals(b)[-1]["eval_micro_f1"] != _evals(c)[-1]["eval_micro_f1"]
            and (b["serving"]["threshold"], c["serving"]["threshold"]) == (0.5, 0.05)
        ),
        trajectory=True,
        multilabel=True,
    ),
    "train_max_samples": Case({"train_max_samples": 20}, lambda b, c: c["config"]["data"]["num_train_examples"] == 20),
    "eval_max_samples": Case({"eval_max_samples": 10}, lambda b, c: c["config"]["data"]["num_eval_examples"] == 10),
}


#: Hyperparameters of the cross-validation mode (train.py dispatches to hfst_train/crossval.py, not run_job):
#: each is proven effective by the named test of tests/training/test_train_crossval.py.
COVERED_BY_CROSSVAL_TESTS = {
    "cv_folds": "test_two_folds_print_each_fold_then_the_mean_and_std_read_by_the_generated_regexes",
    "cv_repeats": "test_repeats_train_each_seed_and_score_the_mean",
    "cv_refit": "test_refit_trains_on_train_and_validation_and_saves_a_servable_model",
    "cv_keep_models": "test_folds_start_from_the_same_weights_so_the_same_fold_gives_the_same_score",
}


def test_every_declared_hyperparameter_has_a_case() -> None:
    from tests.training import test_train_crossval

    assert set(CASES) | set(COVERED_BY_CROSSVAL_TESTS) == set(load_declarations())
    assert not set(CASES) & set(COVERED_BY_CROSSVAL_TESTS)
    for name, test in COVERED_BY_CROSSVAL_TESTS.items():  # the named test exists and sets the hyperparameter
        function = getattr(test_train_crossval, test)
        assert name in inspect.getsource(function), (name, test)


@pytest.fixture(scope="module")
def observe(
    channels: dict[str, Path],
    tiny_model: Path,
    other_tiny_model: Path,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Callable[..., Observed]:
    cache: dict[tuple[str, bool, bool], Observed] = {}

    def run(args: dict[str, Any], trajectory: bool, multilabel: bool = False) -> Observed:
        key = (json.dumps(args, sort_keys=True), trajectory, multilabel)
        data = request.getfixturevalue("multilabel_channels") if multilabel else channels
        if key in cache:
            return cache[key]
        raw = {"model_name_or_path": str(tiny_model), **BASE, **args}
        if raw["model_name_or_path"] == OTHER_MODEL:
            raw["model_name_or_path"] = str(other_tiny_model)
        hps = resolve({name: str(value) if isinstance(value, bool) else value for name, value in raw.items()})
        base = tmp_path_factory.mktemp("opt-ml")
        paths = ContainerPaths.from_env(container_env(base, data))
        if trajectory:
            from hfst_train.job import run_job

            run_job(hps, paths, {})
            observed = {
                "config": json.loads((paths.output_data_dir / "effective_config.json").read_text()),
                "metrics": json.loads((paths.output_data_dir / "metrics.json").read_text()),
                "serving": json.loads((paths.model_dir / "code" / "serving.json").read_text()),
            }
        else:
            train, validation = load_splits(paths, hps)
            setup = build_setup(hps, train, validation, device=torch.device("cpu"), environ={})
            observed = {"config": json.loads(json.dumps(effective_config(setup))), "metrics": None}
        cache[key] = observed
        return observed

    return run


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", sorted(set(load_declarations()) - set(COVERED_BY_CROSSVAL_TESTS)))
def test_hyperparameter_takes_effect(name: str, observe: Callable[..., Observed]) -> None:
    case = CASES[name]
    base = observe(dict(case.also), case.trajectory, case.multilabel)
    changed = observe({**case.also, **case.change}, case.trajectory, case.multilabel)
    assert changed["config"]["hyperparameters"][name] != base["config"]["hyperparameters"][name]
    assert case.check(base, changed), f"{name}={case.change[name]!r} did not change the run"
