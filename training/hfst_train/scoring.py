"""Score a model on a split: one pass for the loss and predictions, then the metrics and their details.

Shared by training (every evaluation on the validation channel) and by the evaluation-only
entry point (``evaluate.py``), so a test score is computed exactly as the validation score was.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from hfst_train import distributed
from hfst_train.data import Collator, TokenizedSplit, eval_batches, iterate, to_device
from hfst_train.optim import Precision
from hfst_train.tasks import as_array, task_for
from hfst_train.tasks.scores import confusion_matrix, per_class_scores


def predict(
    model: torch.nn.Module,
    split: TokenizedSplit,
    collate: Collator,
    batch_size: int,
    device: torch.device,
    precision: Precision,
) -> tuple[float, np.ndarray, np.ndarray]:
    """One pass over the split under ``inference_mode``: (mean loss, labels, outputs), in the split's order.

    The loss is a sum over all examples divided by their count (no batch-size factor): cross-entropy for
    single-label data, the problem type's own loss otherwise (``hfst_train.tasks``). Outputs are what the
    problem type predicts per example (class ids for single-label data).
    """
    task = task_for(split.problem_type)
    batches = eval_batches(split.lengths, batch_size)
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    outputs: list[object] = []
    was_training = model.training
    model.eval()
    dtype = precision.autocast_dtype
    with torch.inference_mode(), torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
        for batch in iterate(batches, collate):
            batch = to_device(batch, device)
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
            loss_sum += task.loss_sum(logits, batch["labels"]).double()
            outputs.extend(task.outputs(logits, batch["labels"]))
    model.train(was_training)
    order = [index for batch in batches for index in batch]
    in_order: list[object] = [None] * len(order)
    for position, index in enumerate(order):
        in_order[index] = outputs[position]
    return float(loss_sum.item()) / len(order), task.label_array(split), as_array(in_order)


def official_score(
    labels: np.ndarray, predictions: np.ndarray, label_names: Sequence[str], definition: Mapping[str, Any]
) -> float:
    """The task's official metric: the mean of one per-class score (f1, recall, precision) over some classes.

    ``definition["classes"]`` names the classes (``None``: all of them, i.e. the macro average).
    """
    classes = definition.get("classes")
    ids = list(range(len(label_names))) if classes is None else [list(label_names).index(name) for name in classes]
    scores = per_class_scores(labels, predictions, len(label_names))[str(definition["score"])]
    return float(np.mean(scores[ids]))


def split_metrics(
    loss: float,
    labels: np.ndarray,
    predictions: np.ndarray,
    split: TokenizedSplit,
    options: Mapping[str, Any] | None = None,
) -> dict[str, float]:
    """``eval_loss``, the problem type's metrics and, when the split names one, ``eval_official``.

    ``options``: ``threshold`` of multi-label classification (default 0.5).
    """
    task = task_for(split.problem_type)
    options = options or {}
    metrics = {"eval_loss": loss}
    metrics.update(task.metrics(labels, predictions, split, options))
    if split.official is not None:
        metrics["eval_official"] = task.official(labels, predictions, split, options)
    return metrics


def details(labels: np.ndarray, predictions: np.ndarray, label_names: Sequence[str]) -> dict[str, Any]:
    """Per-class precision, recall, F1 and support, and the confusion matrix (rows: true, columns: predicted)."""
    scores = per_class_scores(labels, predictions, len(label_names))
    per_class = [
        {
            "label": name,
            "precision": float(scores["precision"][i]),
            "recall": float(scores["recall"][i]),
            "f1": float(scores["f1"][i]),
            "support": int(scores["support"][i]),
        }
        for i, name in enumerate(label_names)
    ]
    matrix = confusion_matrix(labels, predictions, len(label_names))
    return {"per_class": per_class, "confusion_matrix": [[int(v) for v in row] for row in matrix]}


def score_sharded(
    model: torch.nn.Module,
    split: TokenizedSplit,
    collate: Collator,
    batch_size: int,
    device: torch.device,
    precision: Precision,
    world: distributed.World,
    options: Mapping[str, Any] | None = None,
) -> tuple[dict[str, float], int]:
    """``predict`` + ``split_metrics`` with the split cut into one contiguous slice per rank.

    Every rank scores its slice (sizes may differ by one: nothing is padded or repeated), the
    losses, labels and predictions are gathered to every rank, and every rank computes the
    same metrics over the whole split; the gathered slices are checked to tile the split.
    Returns the metrics and the number of examples scored over all ranks.
    """
    if not world.enabled:
        loss, labels, predicted = predict(model, split, collate, batch_size, device, precision)
        return split_metrics(loss, labels, predicted, split, options), len(split)
    start, end = distributed.shard_bounds(len(split), world.rank, world.world_size)
    part: tuple[int, int, float, list[Any], list[Any]] = (start, end, 0.0, [], [])
    if end > start:
        local = split.subset(range(start, end))
        local_collate = Collator(
            local, collate.pad_token_id, collate.pad_to_multiple_of, collate.max_length, collate.pin_memory
        )
        loss, labels, predicted = predict(model, local, local_collate, batch_size, device, precision)
        part = (start, end, loss * (end - start), labels.tolist(), predicted.tolist())
    parts = distributed.gather_objects(world, part)
    covered = [index for first, last, *_ in parts for index in range(first, last)]
    if covered != list(range(len(split))) or sum(len(p[3]) for p in parts) != len(split):
        raise RuntimeError(f"the evaluation shards {[(p[0], p[1]) for p in parts]} do not tile {len(split)} examples")
    loss_sum = math.fsum(p[2] for p in parts)
    labels_all = as_array([label for p in parts for label in p[3]])
    predicted_all = as_array([label for p in parts for label in p[4]])
    return split_metrics(loss_sum / len(split), labels_all, predicted_all, split, options), len(covered)
