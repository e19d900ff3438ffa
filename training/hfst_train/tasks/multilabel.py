"""Multi-label classification: one sigmoid per label, binary cross-entropy, a decision threshold.

Metrics (numpy, ``hfst_train.tasks.scores``; tests check them against scikit-learn): micro-F1 over
every (text, label) decision, macro-F1 over all labels (a label never true nor predicted scores 0, as
scikit-learn's ``zero_division=0``), and the example-averaged Jaccard index of the true and predicted
label sets (a text with neither true nor predicted labels scores 1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch.nn.functional import binary_cross_entropy_with_logits

from hfst_train.tasks.base import Task
from hfst_train.tasks.scores import per_label_scores

if TYPE_CHECKING:
    from hfst_train.data import TokenizedSplit

DEFAULT_THRESHOLD = 0.5


def multilabel_metrics(true: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """``eval_micro_f1``, ``eval_macro_f1`` and ``eval_jaccard`` of boolean matrices (texts x labels)."""
    true, predicted = true.astype(bool), predicted.astype(bool)
    tp = float((true & predicted).sum())
    wrong = float((true ^ predicted).sum())
    union = (true | predicted).sum(axis=1).astype(np.float64)
    both = (true & predicted).sum(axis=1).astype(np.float64)
    jaccard = np.where(union > 0, np.divide(both, union, out=np.ones_like(both), where=union > 0), 1.0)
    return {
        "eval_micro_f1": 2 * tp / (2 * tp + wrong) if tp + wrong else 0.0,
        "eval_macro_f1": float(per_label_scores(true, predicted)["f1"].mean()),
        "eval_jaccard": float(jaccard.mean()) if len(jaccard) else 0.0,
    }


class MultiLabel(Task):
    name = "multi_label_classification"
    hf_problem_type = "multi_label_classification"
    primary_metric = "eval_macro_f1"
    official_scores = ("f1", "recall", "precision")

    def label_tensor(self, split: TokenizedSplit, indices: Sequence[int], length: int) -> torch.Tensor:
        hot = torch.zeros((len(indices), len(split.label_names)), dtype=torch.float32)
        for row, index in enumerate(indices):
            hot[row, list(split.labels[index])] = 1.0
        return hot

    def loss(self, logits: torch.Tensor, labels: torch.Tensor, label_smoothing: float) -> torch.Tensor:
        targets = labels * (1 - label_smoothing) + label_smoothing / 2 if label_smoothing else labels
        return binary_cross_entropy_with_logits(logits.float(), targets)

    def loss_sum(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        per_label = binary_cross_entropy_with_logits(logits.float(), labels, reduction="none")
        return per_label.mean(dim=-1).sum()

    def outputs(self, logits: torch.Tensor, labels: torch.Tensor) -> list[Any]:
        return [[float(p) for p in row] for row in torch.sigmoid(logits.float()).tolist()]

    def label_array(self, split: TokenizedSplit) -> np.ndarray:
        hot = np.zeros((len(split), len(split.label_names)), dtype=bool)
        for row, ids in enumerate(split.labels):
            hot[row, list(ids)] = True
        return hot

    @staticmethod
    def predicted(outputs: np.ndarray, options: Mapping[str, Any]) -> np.ndarray:
        threshold = float(options.get("threshold", DEFAULT_THRESHOLD))
        return np.asarray(outputs, dtype=np.float64) >= threshold

    def metrics(
        self, labels: np.ndarray, outputs: np.ndarray, split: TokenizedSplit, options: Mapping[str, Any]
    ) -> dict[str, float]:
        return multilabel_metrics(labels.astype(bool), self.predicted(outputs, options))

    def official(
        self, labels: np.ndarray, outputs: np.ndarray, split: TokenizedSplit, options: Mapping[str, Any]
    ) -> float:
        assert split.official is not None
        scores = per_label_scores(labels.astype(bool), self.predicted(outputs, options))[str(split.official["score"])]
        classes = split.official.get("classes")
        ids = range(len(split.label_names)) if classes is None else [split.label_names.index(c) for c in classes]
        return float(np.mean([scores[i] for i in ids]))

    def details(
        self, labels: np.ndarray, outputs: np.ndarray, split: TokenizedSplit, options: Mapping[str, Any]
    ) -> dict[str, Any]:
        true = labels.astype(bool)
        scores = per_label_scores(true, self.predicted(outputs, options))
        per_label = [
            {
                "label": name,
                "precision": float(scores["precision"][i]),
                "recall": float(scores["recall"][i]),
                "f1": float(scores["f1"][i]),
                "support": int(scores["support"][i]),
            }
            for i, name in enumerate(split.label_names)
        ]
        counts = true.astype(np.int64).T @ true.astype(np.int64)
        cooccurrence = {"labels": list(split.label_names), "matrix": [[int(v) for v in row] for row in counts]}
        return {
            "per_class": [],
            "confusion_matrix": [],
            "details": {"per_label": per_label, "cooccurrence": cooccurrence},
        }

    def serving(self, split: TokenizedSplit, hps: Mapping[str, Any]) -> dict[str, Any]:
        return {"problem_type": self.name, "threshold": float(hps.get("threshold", DEFAULT_THRESHOLD))}
