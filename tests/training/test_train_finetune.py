"""A real fine-tune: pretrained MiniLM on TweetEval emotion learns more than the majority class."""

from __future__ import annotations

import json
import types
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.training.conftest import container_env, tokenized_split


@pytest.mark.slow
# The suite's costliest test: about 90 s of CPU (30 real optimizer steps of a 22M-parameter model), a minute
# on 2 quiet cores; a loaded CI runner gives it a fraction of a core. The bound catches a hang.
@pytest.mark.timeout(900)
def test_minilm_beats_the_majority_class_on_emotion(
    train_entry: types.ModuleType,
    minilm_path: Path,
    tokenizer: Any,
    tweeteval: Path,
    emotion_names: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    emotion = tweeteval / "emotion"
    channels = {
        "train": tokenized_split(emotion / "train.jsonl", emotion_names, 480, tokenizer, tmp_path / "train"),
        "validation": tokenized_split(emotion / "validation.jsonl", emotion_names, 160, tokenizer, tmp_path / "val"),
    }
    labels = [json.loads(line)["label"] for line in (emotion / "validation.jsonl").read_text().splitlines()[:160]]
    majority = Counter(labels).most_common(1)[0][1] / len(labels)
    args = {
        "model_name_or_path": str(minilm_path),
        "max_steps": 30,
        "per_device_train_batch_size": 16,
        "learning_rate": 2e-4,
        "warmup_ratio": 0.1,
        "weight_decay": 0.01,
    }  # 30 steps of 16 are one epoch: evaluated once, at its end (an evaluation at step 15 cost a tenth more)
    argv = [token for name, value in args.items() for token in (f"--{name}", str(value))]
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        status = train_entry.main(argv, container_env(tmp_path / "opt-ml", channels))
    finally:
        torch.set_num_threads(previous)
    out = capsys.readouterr().out
    assert status == 0
    final = json.loads((tmp_path / "opt-ml" / "output" / "data" / "metrics.json").read_text())["final"]
    print(out, f"majority={majority}")
    assert final["eval_accuracy"] > majority + 0.05
    assert final["eval_macro_f1"] > 0.3
    config = json.loads((tmp_path / "opt-ml" / "model" / "config.json").read_text())
    assert config["id2label"]["1"] == "joy"
