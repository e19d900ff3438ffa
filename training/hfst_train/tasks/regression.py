"""Regression: one output, mean squared error; MSE, RMSE, MAE, Pearson and Spearman.

A prepared channel may hold a standardised target (``target_scale`` in its ``hfst_task.json``:
``original = value * std + mean``). The loss is on the training scale; MSE, RMSE and MAE, the
details and serving are in the original scale (Pearson and Spearman do not change with it).
Numpy only; tests check each number against scipy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch.nn.functional import mse_loss

from hfst_train.tasks.base import Task

if TYPE_CHECKING:
    from hfst_train.data import TokenizedSplit

#: The evaluation's ``details`` keep at most this many points (a seeded sample when there are more).
MAX_POINTS = 2000


def rank(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties given their average rank (scipy's ``rankdata(method="average")``)."""
    order = np.argsort(values, kind="mergesort")
    _, first, counts = np.unique(values[order], return_index=True, return_counts=True)
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.repeat(first + (counts - 1) / 2 + 1, counts)
    return ranks


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's r; 0.0 when either side is constant (the correlation is undefined, the tuner needs a number).

    Constancy is tested on the values themselves: ``x - x.mean()`` of equal values need not be zero
    (the mean is rounded), and that rounding noise would otherwise be scored as a correlation.
    """
    if len(x) == 0 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return 0.0
    dx, dy = x - x.mean(), y - y.mean()
    scale = math.sqrt(float((dx * dx).sum()) * float((dy * dy).sum()))
    return min(1.0, max(-1.0, float((dx * dy).sum() / scale))) if scale > 0 else 0.0


def regression_metrics(true: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """MSE, RMSE, MAE, Pearson and Spearman of two float vectors (the same scale)."""
    true, predicted = np.asarray(true, dtype=np.float64), np.asarray(predicted, dtype=np.float64)
    error = predicted - true
    mse = float((error * error).mean())
    return {
        "eval_mse": mse,
        "eval_rmse": math.sqrt(mse),
        "eval_mae": float(np.abs(error).mean()),
        "eval_pearson": pearson(true, predicted),
        "eval_spearman": pearson(rank(true), rank(predicted)),
    }


def original_scale(values: np.ndarray, scale: Mapping[str, float] | None) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    return values if scale is None else values * float(scale["std"]) + float(scale["mean"])


class Regression(Task):
    name = "regression"
    hf_problem_type = "regression"
    primary_metric = "eval_pearson"
    official_scores = ("pearson", "spearman")

    def num_labels(self, label_names: Sequence[str]) -> int:
        return 1

    def label_tensor(self, split: TokenizedSplit, indices: Sequence[int], length: int) -> torch.Tensor:
        return torch.tensor([float(split.labels[i]) for i in indices], dtype=torch.float32)

    def loss(self, logits: torch.Tensor, labels: torch.Tensor, label_smoothing: float) -> torch.Tensor:
        return mse_loss(logits.float().squeeze(-1), labels)

    def loss_sum(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return mse_loss(logits.float().squeeze(-1), labels, reduction="sum")

    def outputs(self, logits: torch.Tensor, labels: torch.Tensor) -> list[Any]:
        return [float(v) for v in logits.float().squeeze(-1).tolist()]

    def label_array(self, split: TokenizedSplit) -> np.ndarray:
        return np.asarray(split.labels, dtype=np.float64)

    def metrics(
        self, labels: np.ndarray, outputs: np.ndarray, split: TokenizedSplit, options: Mapping[str, Any]
    ) -> dict[str, float]:
        scale = split.target_scale
        return regression_metrics(original_scale(labels, scale), original_scale(outputs, scale))

    def official(
        self, labels: np.ndarray, outputs: np.ndarray, split: TokenizedSplit, options: Mapping[str, Any]
    ) -> float:
        assert split.official is not None
        return self.metrics(labels, outputs, split, options)[f"eval_{split.official['score']}"]

    def details(
        self, labels: np.ndarray, outputs: np.ndarray, split: TokenizedSplit, options: Mapping[str, Any]
    ) -> dict[str, Any]:
        true = original_scale(labels, split.target_scale)
        predicted = original_scale(outputs, split.target_scale)
        keep = np.arange(len(true))
        if len(keep) > MAX_POINTS:
            keep = np.sort(np.random.default_rng(0).choice(len(true), MAX_POINTS, replace=False))
        points = {"true": [float(true[i]) for i in keep], "predicted": [float(predicted[i]) for i in keep]}
        return {"per_class": [], "confusion_matrix": [], "details": {"points": points}}

    def serving(self, split: TokenizedSplit, hps: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"problem_type": self.name}
        if split.target_scale is not None:
            out["target_scale"] = {"mean": float(split.target_scale["mean"]), "std": float(split.target_scale["std"])}
        return out
