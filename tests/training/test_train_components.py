"""Building blocks of the training loop: optimizer groups, schedules, precision, batching, metrics."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hfst_train.data import Collator, TokenizedSplit, eval_batches, padded_length, padding_ratio, train_batches
from hfst_train.errors import HyperparameterError
from hfst_train.hparams import resolve
from hfst_train.job import evaluate
from hfst_train.metrics import format_line, is_better, load_metric_declarations, select_saved
from hfst_train.optim import (
    SCHEDULERS,
    StepPlan,
    build_optimizer,
    build_scheduler,
    lr_trace,
    parameter_groups,
    resolve_precision,
)
from hfst_train.setup import build_engine

from tests.training.conftest import metric_regex

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def model(tiny_model: Path) -> Any:
    from transformers import AutoModelForSequenceClassification

    return AutoModelForSequenceClassification.from_pretrained(str(tiny_model))


def test_weight_decay_skips_biases_and_layernorm_weights(model: Any) -> None:
    decay, no_decay = parameter_groups(model, 0.1)
    names = {id(p): n for n, p in model.named_parameters()}
    decayed = {names[id(p)] for p in decay["params"]}
    skipped = {names[id(p)] for p in no_decay["params"]}
    assert (decay["weight_decay"], no_decay["weight_decay"]) == (0.1, 0.0)
    assert not any(n.endswith("bias") or "LayerNorm" in n for n in decayed)
    assert any("LayerNorm.weight" in n for n in skipped)
    assert "bert.embeddings.word_embeddings.weight" in decayed
    assert decayed | skipped == set(names.values())


@pytest.mark.parametrize(
    ("name", "cls"),
    [("adamw", "AdamW"), ("adam", "Adam"), ("sgd", "SGD"), ("adafactor", "Adafactor")],
)
def test_each_optimizer_choice_builds_its_class(model: Any, name: str, cls: str) -> None:
    hps = resolve({"optimizer": name, "weight_decay": "0.01", "learning_rate": "0.002"})
    optimizer = build_optimizer(model, hps, CPU)
    assert type(optimizer).__name__ == cls
    assert [g["weight_decay"] for g in optimizer.param_groups] == [0.01, 0.0]
    assert {g["lr"] for g in optimizer.param_groups} == {0.002}
    # and it trains: one step through the engine moves the weights
    engine = build_engine(model, model, {**hps, "max_grad_norm": 1.0}, StepPlan(1, 1, 1, 0), CPU)
    assert type(engine.optimizer).__name__ == cls
    before = model.classifier.weight.detach().clone()
    batch = Collator(TokenizedSplit([[101, 2000, 102], [101, 3000, 4000, 102]], [0, 3], tuple("abcd")), 0, 8, 128)
    assert engine.micro_step(batch([0, 1])) is True
    assert engine.step == 1
    assert not torch.equal(before, model.classifier.weight)
    engine.check_finite()


def test_schedules_have_their_shapes(model: Any) -> None:
    plan = StepPlan(micro_batches_per_epoch=100, steps_per_epoch=100, total_steps=100, warmup_steps=0)
    traces = {}
    for name in SCHEDULERS:
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        traces[name] = dict(lr_trace(build_scheduler(optimizer, name, plan), 100))
    # without warm-up, constant_with_warmup is constant; every other pair differs
    assert len({tuple(t.items()) for t in traces.values()}) == len(SCHEDULERS) - 1
    assert traces["linear"][50] == pytest.approx(0.5)
    assert traces["cosine"][25] == pytest.approx((1 + math.cos(math.pi * 0.25)) / 2)
    assert set(traces["constant"].values()) == {1.0}
    assert traces["cosine_with_restarts"][50] == pytest.approx(1.0)  # second cycle restarts
    assert traces["polynomial"][100] == pytest.approx(1e-7 / 0.1)  # decays to lr_end
    warm = StepPlan(100, 100, 100, warmup_steps=10)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    trace = dict(lr_trace(build_scheduler(optimizer, "constant_with_warmup", warm), 100, points=11))
    assert (trace[0], trace[10], trace[100]) == (0.0, 1.0, 1.0)


def test_precision_resolution() -> None:
    cuda = torch.device("cuda")
    assert resolve_precision("auto", CPU).name == "fp32"
    assert resolve_precision("auto", cuda, bf16_supported=True).autocast_dtype == torch.bfloat16
    fp16 = resolve_precision("auto", cuda, bf16_supported=False)
    assert (fp16.name, fp16.autocast_dtype, fp16.grad_scaler) == ("fp16", torch.float16, True)
    assert resolve_precision("bf16", CPU).autocast_dtype == torch.bfloat16
    assert resolve_precision("fp32", cuda, bf16_supported=True).autocast_dtype is None
    with pytest.raises(HyperparameterError, match="fp16' needs a CUDA GPU"):
        resolve_precision("fp16", CPU)
    with pytest.raises(HyperparameterError, match="does not support bf16"):
        resolve_precision("bf16", cuda, bf16_supported=False)


def test_epoch_batches_are_seeded_complete_and_grouped() -> None:
    lengths = [int(x) for x in np.random.default_rng(0).integers(3, 60, size=500)]
    first = train_batches(lengths, 16, seed=1, epoch=0, group_by_length=True, megabatch=8)
    assert first == train_batches(lengths, 16, seed=1, epoch=0, group_by_length=True, megabatch=8)
    assert first != train_batches(lengths, 16, seed=1, epoch=1, group_by_length=True, megabatch=8)
    assert first != train_batches(lengths, 16, seed=2, epoch=0, group_by_length=True, megabatch=8)
    assert sorted(i for b in first for i in b) == list(range(500))
    plain = train_batches(lengths, 16, seed=1, epoch=0, group_by_length=False)
    assert sorted(i for b in plain for i in b) == list(range(500))
    assert padding_ratio(lengths, first, 1, 512) < padding_ratio(lengths, plain, 1, 512) / 3
    # group order is shuffled: the batches' lengths are not sorted
    longest = [max(lengths[i] for i in b) for b in first]
    assert longest != sorted(longest)
    assert longest != sorted(longest, reverse=True)


def test_padding_rounds_up_to_the_multiple_and_caps() -> None:
    assert [padded_length(n, 8, 128) for n in (1, 8, 9, 127, 500)] == [8, 8, 16, 128, 128]
    split = TokenizedSplit([[5, 6, 7], [8]], [0, 1], ("a", "b"))
    batch = Collator(split, pad_token_id=0, pad_to_multiple_of=4, max_length=2)([0, 1])
    assert batch["input_ids"].tolist() == [[5, 6], [8, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1], [1, 0]]
    assert batch["labels"].tolist() == [0, 1]


def test_eval_loss_is_the_mean_cross_entropy_over_all_examples(model: Any) -> None:
    rng = np.random.default_rng(3)
    ids = [[101, *map(int, rng.integers(1000, 2000, size=int(n))), 102] for n in rng.integers(2, 30, size=23)]
    split = TokenizedSplit(ids, [int(x) for x in rng.integers(0, 4, size=23)], ("a", "b", "c", "d"))
    collate = Collator(split, 0, 8, 128)
    precision = resolve_precision("fp32", CPU)
    model.eval()
    with torch.no_grad():
        losses = [
            torch.nn.functional.cross_entropy(
                model(input_ids=torch.tensor([row]), attention_mask=torch.ones(1, len(row), dtype=torch.long)).logits,
                torch.tensor([label]),
            ).item()
            for row, label in zip(split.input_ids, split.labels, strict=True)
        ]
    expected = sum(losses) / len(losses)
    for batch_size in (1, 7, 64):
        metrics = evaluate(model, split, collate, batch_size, CPU, precision)
        assert metrics["eval_loss"] == pytest.approx(expected, rel=1e-5)
    assert len(eval_batches(split.lengths, 7)) == 4


def test_selection_follows_the_metric_and_its_direction() -> None:
    history = [
        {"step": 1, "eval_loss": 0.9, "eval_macro_f1": 0.5},
        {"step": 2, "eval_loss": 0.7, "eval_macro_f1": 0.4},
        {"step": 3, "eval_loss": 0.8, "eval_macro_f1": 0.6},
        {"step": 4, "eval_loss": float("nan"), "eval_macro_f1": 0.6},
    ]
    assert select_saved(history, "eval_loss", "best") == 1
    assert select_saved(history, "eval_macro_f1", "best") == 2  # first of ties
    assert select_saved(history, "eval_macro_f1", "last") == 3
    assert not is_better("eval_loss", float("nan"), 1.0)
    assert is_better("eval_accuracy", 0.5, None)


@pytest.mark.parametrize("value", [1e-05, -0.3, 12.5, 3, float("nan"), float("inf"), 1.5e20, 0.6311])
def test_metric_line_values_are_read_whole_by_the_library_regex(value: float) -> None:
    prefix, declared = load_metric_declarations()
    line = format_line(prefix, declared, {"epoch": 1.0, "step": 7, "eval_loss": value})
    assert line.startswith("hfst_metric epoch=1.0 step=7 ")
    match = re.search(metric_regex("eval_loss"), line)
    assert match is not None
    parsed = float(match.group(1))
    assert parsed == value or (math.isnan(value) and math.isnan(parsed))
    assert re.search(metric_regex("step"), line).group(1) == "7"  # type: ignore[union-attr]
    with pytest.raises(KeyError, match="not declared"):
        format_line(prefix, declared, {"eval_lost": 1.0})
