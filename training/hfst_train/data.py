"""Channel data: tokenized ``datasets`` folders, length-grouped batches and dynamic padding.

A channel is a ``datasets.Dataset.save_to_disk`` folder with ``input_ids``,
``attention_mask`` (lists of int, truncated, not padded) and ``label`` (a
``ClassLabel`` whose names become the model's ``id2label``). Other columns are
ignored. A channel may also hold ``hfst_task.json`` (written by ``hfst prepare``
when the dataset names its task): the task's official metric, printed as ``eval_official``.
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
#: The file in a channel folder that names the dataset's task and its official metric.
TASK_FILE = "hfst_task.json"
OFFICIAL_SCORES = ("f1", "recall", "precision")


@dataclass(frozen=True)
class TokenizedSplit:
    """One channel held in memory as Python lists (cheap to batch, no per-item dataset overhead)."""

    input_ids: list[list[int]]
    labels: list[int]
    label_names: tuple[str, ...]
    #: ``{"task", "name", "score", "classes"}`` from the channel's ``hfst_task.json``, when it has one.
    official: Mapping[str, Any] | None = None

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def lengths(self) -> list[int]:
        return [len(ids) for ids in self.input_ids]

    def subset(self, indices: Sequence[int]) -> TokenizedSplit:
        return TokenizedSplit(
            input_ids=[self.input_ids[i] for i in indices],
            labels=[self.labels[i] for i in indices],
            label_names=self.label_names,
            official=self.official,
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
    feature = dataset.features["label"]
    if not isinstance(feature, datasets.ClassLabel):
        raise DataError(f"channel {channel!r}: 'label' must be a ClassLabel carrying the label names, got {feature}")
    if len(dataset) == 0:
        raise DataError(f"channel {channel!r}: {path} holds no examples")
    columns = dataset.select_columns(["input_ids", "label"]).to_dict()
    names = tuple(feature.names)
    return TokenizedSplit(
        input_ids=[list(ids) for ids in columns["input_ids"]],
        labels=[int(label) for label in columns["label"]],
        label_names=names,
        official=load_official(path, channel, names),
    )


def load_official(path: Path, channel: str, label_names: Sequence[str]) -> dict[str, Any] | None:
    """The official metric named in the channel's ``hfst_task.json`` (checked), or ``None`` without one."""
    file = path / TASK_FILE
    if not file.is_file():
        return None
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
        metric = dict(raw["official_metric"])
        score, classes = metric["score"], metric.get("classes")
    except (ValueError, KeyError, TypeError) as error:
        raise DataError(
            f"channel {channel!r}: {file} is not a valid task file ({type(error).__name__}: {error})"
        ) from None
    if score not in OFFICIAL_SCORES:
        raise DataError(f"channel {channel!r}: official metric score {score!r} is not one of {list(OFFICIAL_SCORES)}")
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
            "labels": torch.tensor([self.split.labels[i] for i in indices], dtype=torch.long),
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
