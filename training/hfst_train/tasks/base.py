"""What a problem type owns: its model class, label tensors, loss, per-example outputs, metrics and details.

The rest of the package is blind to the problem type: it asks ``task_for(split.problem_type)``.
Every method works on plain numpy / Python values in the split's order, so the distributed
evaluation can gather them from every rank and every rank computes the same metrics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from hfst_train.data import TokenizedSplit


class Task:
    """One problem type (Hugging Face's names). Subclasses fill in every method."""

    #: Hugging Face's ``problem_type`` name.
    name: str = ""
    #: The transformers auto class of the model (a head for this type).
    auto_model: str = "AutoModelForSequenceClassification"
    #: ``config.problem_type`` for sequence models (``None``: not set).
    hf_problem_type: str | None = None
    #: What ``metric_for_best_model``'s default stands for when the type does not print ``eval_macro_f1``.
    primary_metric: str = "eval_macro_f1"
    #: The ``score`` values an official-metric definition may name for this type.
    official_scores: tuple[str, ...] = ()

    def num_labels(self, label_names: Sequence[str]) -> int:
        return len(label_names)

    def label_tensor(self, split: TokenizedSplit, indices: Sequence[int], length: int) -> torch.Tensor:
        """The ``labels`` tensor of one batch (``length``: the batch's padded sequence length)."""
        raise NotImplementedError

    def loss(self, logits: torch.Tensor, labels: torch.Tensor, label_smoothing: float) -> torch.Tensor:
        """The training loss: a mean over the batch's examples."""
        raise NotImplementedError

    def loss_sum(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The evaluation loss summed over the batch's examples (one value per example, unsmoothed)."""
        raise NotImplementedError

    def outputs(self, logits: torch.Tensor, labels: torch.Tensor) -> list[Any]:
        """One output per example of the batch (a class id, probabilities, a number, tag ids)."""
        raise NotImplementedError

    def label_array(self, split: TokenizedSplit) -> np.ndarray:
        """The split's labels as the metrics read them."""
        raise NotImplementedError

    def metrics(
        self, labels: np.ndarray, outputs: np.ndarray, split: TokenizedSplit, options: Mapping[str, Any]
    ) -> dict[str, float]:
        """The type's ``eval_*`` metrics except ``eval_loss`` and ``eval_official``."""
        raise NotImplementedError

    def official(
        self, labels: np.ndarray, outputs: np.ndarray, split: TokenizedSplit, options: Mapping[str, Any]
    ) -> float:
        """The task's official metric (``split.official``)."""
        raise NotImplementedError

    def details(
        self, labels: np.ndarray, outputs: np.ndarray, split: TokenizedSplit, options: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The evaluation's ``per_class``, ``confusion_matrix`` and ``details`` (see CONTRACT of issue 20)."""
        raise NotImplementedError

    def serving(self, split: TokenizedSplit, hps: Mapping[str, Any]) -> dict[str, Any]:
        """What ``code/serving.json`` records besides ``max_length``."""
        return {"problem_type": self.name}


def as_array(values: Sequence[Any]) -> np.ndarray:
    """``np.asarray``, or a 1-D object array when the items are ragged lists (token classification)."""
    try:
        return np.asarray(values)
    except ValueError:
        out = np.empty(len(values), dtype=object)
        for index, value in enumerate(values):
            out[index] = value
        return out


def check_official_score(task: Task, score: str) -> bool:
    return score in task.official_scores
