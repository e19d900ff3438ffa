"""Channel data: tokenized ``datasets`` folders, length-grouped batches and dynamic padding.

A channel is a ``datasets.Dataset.save_to_disk`` folder with ``input_ids``,
``attention_mask`` (lists of int, truncated, not padded) and ``label``, whose feature
says the problem type (``problem_type_of``): a ``ClassLabel`` (single-label; its names
become the model's ``id2label``), a list of ``ClassLabel`` (multi-label), a float
(regression), or, next to a ``ner_tags`` list of ``ClassLabel`` (the BIO tag of each word),
a list of ints aligned with ``input_ids`` (token classification; -100 where ignored).
A channel may also hold ``hfst_task.json`` (written by ``hfst prepare``): the task's
official metric, printed as ``eval_official``, and a regression target's ``target_scale``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hfst_train.errors import DataError

REQUIRED_COLUMNS = ("input_ids", "attention_mask", "label")
#: Token classification channels also hold the words, their tags and the word of each labelled sub-token.
TOKEN_COLUMNS = ("tokens", "ner_tags", "word_index")
#: The file in a channel folder that names the dataset's task and its official metric.
TASK_FILE = "hfst_task.json"


@dataclass(frozen=True)
class TokenizedSplit:
    """One channel held in memory as Python lists (cheap to batch, no per-item dataset overhead)."""

    input_ids: list[list[int]]
    labels: list[Any]
    label_names: tuple[str, ...]
    #: ``{"task", "name", "score", "classes"}`` from the channel's ``hfst_task.json``, when it has one.
    official: Mapping[str, Any] | None = None
    #: Hugging Face's name of the problem type (``labels`` hold: class ids, lists of ids, floats, aligned tags).
    problem_type: str = "single_label_classification"
    #: Token classification: each text's words, their tag ids, and the word of each labelled sub-token.
    words: list[list[str]] | None = None
    word_tags: list[list[int]] | None = None
    word_index: list[list[int]] | None = None
    #: Regression: ``{"mean", "std"}`` when the target was standardised (``original = value * std + mean``).
    target_scale: Mapping[str, float] | None = None

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def lengths(self) -> list[int]:
        return [len(ids) for ids in self.input_ids]

    def subset(self, indices: Sequence[int]) -> TokenizedSplit:
        def pick(values: list[Any] | None) -> list[Any] | None:
            return None if values is None else [values[i] for i in indices]

        return TokenizedSplit(
            input_ids=[self.input_ids[i] for i in indices],
            labels=[self.labels[i] for i in indices],
            label_names=self.label_names,
            official=self.official,
            problem_type=self.problem_type,
            words=pick(self.words),
            word_tags=pick(self.word_tags),
            word_index=pick(self.word_index),
            target_scale=self.target_scale,
        )


def load_channel(path: Path, channel: str) -> TokenizedSplit:
    """Load a channel folder written by ``Dataset.save_to_disk``."""
    import datasets

    if not path.is_dir():
        raise DataError(f"channel {channel!r}: {path} is not a directory (set SM_CHANNEL_{channel.upper()})")
    try:
        dataset = datasets.load_from_disk(str(path))
    except (FileNotFoundError, ValueError) as error:
        raise DataError(f"channel {channel!r}: {path} is not a saved datasets.Dataset: {error}") from None
    if not isinstance(dataset, datasets.Dataset):
        raise DataError(f"channel {channel!r}: {path} holds a {type(dataset).__name__}, expected one Dataset")
    missing = [column for column in REQUIRED_COLUMNS if column not in dataset.column_names]
    if missing:
        raise DataError(
            f"channel {channel!r}: columns {missing} are missing (has {dataset.column_names}); "
            "expected tokenized input_ids, attention_mask and a ClassLabel label"
        )
    problem_type, names = problem_type_of(dataset, channel)
    if len(dataset) == 0:
        raise DataError(f"channel {channel!r}: {path} holds no examples")
    token = problem_type == "token_classification"
    columns = dataset.select_columns(["input_ids", "label", *(TOKEN_COLUMNS if token else ())]).to_dict()
    task = load_task_file(path, channel)
    return TokenizedSplit(
        input_ids=[list(ids) for ids in columns["input_ids"]],
        labels=[_label(value, problem_type) for value in columns["label"]],
        label_names=names,
        official=load_official(path, channel, names, problem_type, task),
        problem_type=problem_type,
        words=[list(w) for w in columns["tokens"]] if token else None,
        word_tags=[list(t) for t in columns["ner_tags"]] if token else None,
        word_index=[list(w) for w in columns["word_index"]] if token else None,
        target_scale=_target_scale(task, path, channel) if problem_type == "regression" else None,
    )


def _label(value: Any, problem_type: str) -> Any:
    if problem_type == "regression":
        return float(value)
    if problem_type == "single_label_classification":
        return int(value)
    return [int(v) for v in value]


def problem_type_of(dataset: Any, channel: str) -> tuple[str, tuple[str, ...]]:
    """The problem type a channel's ``label`` feature says, and its label (or BIO tag) names."""
    import datasets

    feature = dataset.features["label"]
    inner = getattr(feature, "feature", None)  # datasets' Sequence / List
    if isinstance(feature, datasets.ClassLabel):
        return "single_label_classification", tuple(feature.names)
    if isinstance(inner, datasets.ClassLabel):
        return "multi_label_classification", tuple(inner.names)
    if isinstance(feature, datasets.Value) and feature.dtype.startswith("float"):
        return "regression", ("LABEL_0",)
    tags = getattr(dataset.features.get("ner_tags"), "feature", None)
    if isinstance(inner, datasets.Value) and isinstance(tags, datasets.ClassLabel):
        missing = [column for column in TOKEN_COLUMNS if column not in dataset.column_names]
        if missing:
            raise DataError(f"channel {channel!r}: a token-classification channel needs columns {missing}")
        return "token_classification", tuple(tags.names)
    raise DataError(
        f"channel {channel!r}: 'label' is {feature}; expected a ClassLabel (single-label), a list of ClassLabel "
        "(multi-label), a float (regression), or aligned tag ids next to a 'ner_tags' list of ClassLabel "
        "(token classification)"
    )


def load_task_file(path: Path, channel: str) -> dict[str, Any] | None:
    """The channel's ``hfst_task.json`` as JSON, or ``None`` without one."""
    file = path / TASK_FILE
    if not file.is_file():
        return None
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except ValueError as error:
        raise DataError(f"channel {channel!r}: {file} is not valid JSON ({error})") from None
    if not isinstance(raw, dict):
        raise DataError(f"channel {channel!r}: {file} is not a JSON object")
    return raw


def _target_scale(task: Mapping[str, Any] | None, path: Path, channel: str) -> dict[str, float] | None:
    scale = (task or {}).get("target_scale")
    if scale is None:
        return None
    try:
        mean, std = float(scale["mean"]), float(scale["std"])
    except (KeyError, TypeError, ValueError):
        raise DataError(f"channel {channel!r}: target_scale in {path / TASK_FILE} needs numbers mean and std") from None
    if not std > 0:
        raise DataError(f"channel {channel!r}: target_scale std must be > 0, got {std}")
    return {"mean": mean, "std": std}


def load_official(
    path: Path,
    channel: str,
    label_names: Sequence[str],
    problem_type: str = "single_label_classification",
    task: Mapping[str, Any] | None = None,
) -> dict[str, Any] | None:
    """The official metric named in the channel's ``hfst_task.json`` (checked), or ``None`` without one."""
    file = path / TASK_FILE
    raw = load_task_file(path, channel) if task is None else task
    if raw is None or raw.get("official_metric") is None:
        return None
    try:
        metric = dict(raw["official_metric"])
        score, classes = metric["score"], metric.get("classes")
    except (ValueError, KeyError, TypeError) as error:
        raise DataError(
            f"channel {channel!r}: {file} is not a valid task file ({type(error).__name__}: {error})"
        ) from None
    from hfst_train.tasks import task_for

    allowed = task_for(problem_type).official_scores
    if score not in allowed:
        raise DataError(
            f"channel {channel!r}: official metric score {score!r} does not fit {problem_type} data; "
            f"allowed: {list(allowed)}"
        )
    if classes is not None:
        unknown = [name for name in classes if name not in label_names]
        if not classes or unknown:
            raise DataError(
                f"channel {channel!r}: the official metric of task {raw.get('task')!r} averages classes "
                f"{unknown or classes} that are not label names {list(label_names)}"
            )
    return {"task": raw.get("task"), "name": str(metric.get("name") or score), "score": score, "classes": classes}


def sample_indices(size: int, limit: int, seed: int) -> list[int]:
    """A seeded sample of ``limit`` indices (sorted), or all of them when ``limit`` is 0 or too large."""
    if limit <= 0 or limit >= size:
        return list(range(size))
    return sorted(random.Random(seed).sample(range(size), limit))


def train_batches(
    lengths: Sequence[int], batch_size: int, seed: int, epoch: int, group_by_length: bool, megabatch: int = 64
) -> list[list[int]]:
    """The training batches (index lists) of one epoch, reproducible from ``seed`` and ``epoch``.

    With ``group_by_length``: shuffle, cut into mega-batches of ``megabatch`` batches,
    sort each by length, cut into batches, then shuffle the batch order. Batches hold
    similar lengths (little padding) and their order stays random.
    """
    rng = random.Random(seed * 1_000_003 + epoch)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    if not group_by_length:
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    span = batch_size * megabatch
    batches: list[list[int]] = []
    for start in range(0, len(order), span):
        chunk = sorted(order[start : start + span], key=lambda index: lengths[index], reverse=True)
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def eval_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Evaluation batches: sorted by length (least padding); the order does not change the metrics."""
    order = sorted(range(len(lengths)), key=lambda index: lengths[index])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def padded_length(longest: int, multiple: int, cap: int) -> int:
    """The batch's length: the longest sequence rounded up to ``multiple``, never above ``cap``."""
    rounded = -(-longest // multiple) * multiple
    return max(1, min(rounded, cap))


@dataclass(frozen=True)
class Collator:
    """Builds padded tensors for one batch of indices (pinned when the target is a GPU)."""

    split: TokenizedSplit
    pad_token_id: int
    pad_to_multiple_of: int
    max_length: int
    pin_memory: bool = False

    def __call__(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        from hfst_train.tasks import task_for

        rows = [self.split.input_ids[i][: self.max_length] for i in indices]
        length = padded_length(max(len(row) for row in rows), self.pad_to_multiple_of, self.max_length)
        ids = np.full((len(rows), length), self.pad_token_id, dtype=np.int64)
        mask = np.zeros((len(rows), length), dtype=np.int64)
        for row_index, row in enumerate(rows):
            ids[row_index, : len(row)] = row
            mask[row_index, : len(row)] = 1
        batch = {
            "input_ids": torch.from_numpy(ids),
            "attention_mask": torch.from_numpy(mask),
            "labels": task_for(self.split.problem_type).label_tensor(self.split, indices, length),
        }
        if self.pin_memory:
            batch = {name: tensor.pin_memory() for name, tensor in batch.items()}
        return batch


def to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    """Copy a batch to the device without blocking the host (pinned memory makes the copy asynchronous)."""
    return {name: tensor.to(device, non_blocking=True) for name, tensor in batch.items()}


def padding_ratio(lengths: Sequence[int], batches: Sequence[Sequence[int]], multiple: int, cap: int) -> float:
    """Fraction of the tokens fed to the model that are padding, for these batches."""
    real = padded = 0
    for batch in batches:
        sizes = [min(lengths[i], cap) for i in batch]
        real += sum(sizes)
        padded += len(sizes) * padded_length(max(sizes), multiple, cap)
    return 0.0 if padded == 0 else 1.0 - real / padded


def iterate(batches: Sequence[list[int]], collate: Collator, start: int = 0) -> Iterator[dict[str, torch.Tensor]]:
    """Yield collated batches from position ``start`` on (a resumed epoch skips what it already trained)."""
    for indices in batches[start:]:
        yield collate(indices)
