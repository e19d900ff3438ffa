"""Single-label classification: softmax, cross-entropy, accuracy and macro/weighted F1 (today's behaviour)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch.nn.functional import cross_entropy

from hfst_train.tasks.base import Task

if TYPE_CHECKING:
    from hfst_train.data import TokenizedSplit


class SingleLabel(Task):
    name = "single_label_classification"
    hf_problem_type = "single_label_classification"
    primary_metric = "eval_macro_f1"
    official_scores = ("f1", "recall", "precision")

    def label_tensor(self, split: TokenizedSplit, indices: Sequence[int], length: int) -> torch.Tensor:
        return torch.tensor([split.labels[i] for i in indices], dtype=torch.long)

    def loss(self, logits: torch.Tensor, labels: torch.Tensor, label_smoothing: float) -> torch.Tensor:
        return cross_entropy(logits.float(), labels, label_smoothing=label_smoothing)

    def loss_sum(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return cross_entropy(logits.float(), labels, reduction="sum")

    def outputs(self, logits: torch.Tensor, labels: torch.Tensor) -> list[Any]:
        return [int(v) for v in logits.argmax(dim=-1).tolist()]

    def label_array(self, split: TokenizedSplit) -> np.ndarray:
        return np.asarray(split.labels, dtype=np.int64)

    def metrics(
        self, labels: np.ndarray, outputs: np.ndarray, split: TokenizedSplit, options: Mapping[str, Any]
    ) -> dict[str, float]:
        from hfst_train.metrics import classification_metrics

        return classification_metrics(labels, outputs, len(split.label_names))

    def official(
        self, labels: np.ndarray, outputs: np.ndarray, split: TokenizedSplit, options: Mapping[str, Any]
    ) -> float:
        from hfst_train.scoring import official_score

        assert split.official is not None
        return official_score(labels, outputs, split.label_names, split.official)

    def details(
        self, labels: np.ndarray, outputs: np.ndarray, split: TokenizedSplit, options: Mapping[str, Any]
    ) -> dict[str, Any]:
        from hfst_train.scoring import details

        return {**details(labels, outputs, split.label_names), "details": {}}
