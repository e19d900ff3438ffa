"""Hyperparameter parsing: declared in hyperparameters.json, from every contract source, strictly validated."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hfst_train.errors import HyperparameterError
from hfst_train.hparams import coerce, collect_raw, load_declarations, parse_cli, resolve

DECLS = load_declarations()


def test_declarations_are_read_from_the_shipped_file() -> None:
    raw = json.loads((Path(__file__).resolve().parents[2] / "training" / "hyperparameters.json").read_text())
    assert set(DECLS) == set(raw["hyperparameters"])
    assert resolve({}) == {name: coerce(decl, decl.default) for name, decl in DECLS.items()}


@pytest.mark.parametrize("name", sorted(DECLS))
def test_each_default_is_valid_for_its_own_declaration(name: str) -> None:
    decl = DECLS[name]
    assert coerce(decl, decl.default) == decl.default


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("optimizer", "adamw", "adamw"),
        ("optimizer", '"adamw"', "adamw"),
        ("learning_rate", "3e-05", 3e-05),
        ("learning_rate", '"3e-05"', 3e-05),
        ("learning_rate", 2, 2.0),
        ("epochs", "1.5", 1.5),
        ("max_steps", "10", 10),
        ("max_steps", "10.0", 10),
        ("group_by_length", "false", False),
        ("group_by_length", "True", True),
        ("group_by_length", '"true"', True),
        ("torch_compile", True, True),
        ("model_name_or_path", "123", "123"),
        ("model_name_or_path", '"distilbert-base-uncased"', "distilbert-base-uncased"),
    ],
)
def test_values_arrive_as_strings_or_json(name: str, raw: object, expected: object) -> None:
    value = coerce(DECLS[name], raw)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("learning_rate", "fast", "'learning_rate': 'fast' is not a number"),
        ("learning_rate", "nan", "not a finite number"),
        ("learning_rate", "-1e-05", "below the minimum 0 (inclusive)"),
        ("warmup_ratio", "1.5", "above the maximum 1 (inclusive)"),
        ("max_steps", "2.5", "is not an integer"),
        ("max_steps", "true", "is not a number"),
        (
            "optimizer",
            "adamw_torch",
            "'adamw_torch' is not one of the allowed values ['adamw', 'adam', 'sgd', 'adafactor']",
        ),
        ("group_by_length", "maybe", "is not a bool"),
        ("per_device_train_batch_size", "0", "below the minimum 1"),
    ],
)
def test_bad_values_fail_with_a_message_naming_the_hyperparameter(name: str, raw: object, message: str) -> None:
    with pytest.raises(HyperparameterError, match=re.escape(message)):
        coerce(DECLS[name], raw)


def test_bounds_are_inclusive() -> None:
    assert coerce(DECLS["warmup_ratio"], "1") == 1.0
    assert coerce(DECLS["warmup_ratio"], "0") == 0.0
    assert coerce(DECLS["dropout"], "-1") == -1.0


def test_unknown_hyperparameter_is_named_and_the_known_ones_listed() -> None:
    with pytest.raises(HyperparameterError) as caught:
        resolve({"learning_rate": "1e-4", "optim": "adamw"})
    message = str(caught.value)
    assert "unknown hyperparameter(s) optim;" in message
    for name in DECLS:
        assert name in message


def test_platform_keys_are_accepted_and_ignored() -> None:
    values = resolve(
        {
            "sagemaker_program": '"train.py"',
            "sagemaker_submit_directory": '"s3://bucket/code.tar.gz"',
            "_tuning_objective_metric": '"eval_macro_f1"',
            "epochs": "2",
        }
    )
    assert values["epochs"] == 2.0
    assert "sagemaker_program" not in values
    assert "_tuning_objective_metric" not in values


def test_cli_forms() -> None:
    assert parse_cli(["--epochs", "2", "--learning-rate=1e-3", "--optimizer", '"sgd"']) == {
        "epochs": "2",
        "learning_rate": "1e-3",
        "optimizer": '"sgd"',
    }
    with pytest.raises(HyperparameterError, match="has no value"):
        parse_cli(["--epochs"])
    with pytest.raises(HyperparameterError, match="unexpected command-line argument 'epochs'"):
        parse_cli(["epochs", "2"])


def test_sources_precedence_file_then_sm_hps_then_cli(tmp_path: Path) -> None:
    file = tmp_path / "hyperparameters.json"
    file.write_text(json.dumps({"epochs": "5", "seed": "1", "optimizer": '"sgd"'}))
    environ = {"SM_HPS": json.dumps({"seed": 2, "optimizer": "adam"})}
    raw = collect_raw(["--optimizer", "adafactor"], environ, file)
    values = resolve(raw)
    assert (values["epochs"], values["seed"], values["optimizer"]) == (5.0, 2, "adafactor")


def test_malformed_sm_hps_fails_clearly() -> None:
    with pytest.raises(HyperparameterError, match="SM_HPS is not valid JSON"):
        collect_raw([], {"SM_HPS": "{not json"}, None)


def test_paths_come_from_the_base_dir_and_sm_variables_win(tmp_path: Path) -> None:
    from hfst_train.paths import ContainerPaths

    (tmp_path / "input" / "data" / "test").mkdir(parents=True)
    paths = ContainerPaths.from_env({"SAGEMAKER_BASE_DIR": str(tmp_path), "SM_MODEL_DIR": "/elsewhere/model"})
    assert paths.model_dir == Path("/elsewhere/model")
    assert paths.train_channel == tmp_path / "input" / "data" / "train"
    assert paths.test_channel == tmp_path / "input" / "data" / "test"
    assert paths.output_data_dir == tmp_path / "output" / "data"
    assert paths.checkpoint_dir == tmp_path / "checkpoints"
    assert paths.hyperparameters_file == tmp_path / "input" / "config" / "hyperparameters.json"
    overridden = ContainerPaths.from_env(
        {
            "SAGEMAKER_BASE_DIR": str(tmp_path),
            "SM_OUTPUT_DIR": "/o",
            "SM_CHECKPOINT_DIR": "/c",
            "SM_CHANNEL_TRAIN": "/t",
        }
    )
    assert (overridden.output_data_dir, overridden.checkpoint_dir, overridden.train_channel) == (
        Path("/o/data"),
        Path("/c"),
        Path("/t"),
    )
    assert ContainerPaths.from_env({}).model_dir == Path("/opt/ml/model")
