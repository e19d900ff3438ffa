"""Token classification (NER): a BIO tag per word, scored as entities (seqeval's strict IOB2).

The channel aligns word tags to sub-tokens: the first sub-token of each word carries the
word's tag, every other position (later sub-tokens, special tokens, padding) is -100 and
ignored by the loss. Scores are over whole words of the whole text: a word's prediction is its
first sub-token's; a word cut off by ``max_length`` (or with no sub-token) is predicted ``O``,
so entities past the cut count as missed and a test score covers the whole split.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch.nn.functional import cross_entropy

from hfst_train.tasks.base import Task
from hfst_train.tasks.bio import entity_scores, metric_key

if TYPE_CHECKING:
    from hfst_train.data import TokenizedSplit

IGNORED = -100
OUTSIDE = "O"
#: The evaluation's ``details`` show at most this many texts with a mistake.
MAX_MISTAKES = 10


class TokenClassification(Task):
    name = "token_classification"
    auto_model = "AutoModelForTokenClassification"
    hf_problem_type = None
    primary_metric = "eval_f1"
    official_scores = ("entity_f1",)

    def label_tensor(self, split: TokenizedSplit, indices: Sequence[int], length: int) -> torch.Tensor:
        out = torch.full((len(indices), length), IGNORED, dtype=torch.long)
        for row, index in enumerate(indices):
            tags = list(split.labels[index])[:length]
            out[row, : len(tags)] = torch.tensor(tags, dtype=torch.long)
        return out

    def loss(self, logits: torch.Tensor, labels: torch.Tensor, label_smoothing: float) -> torch.Tensor:
        flat = logits.float().reshape(-1, logits.shape[-1])
        return cross_entropy(flat, labels.reshape(-1), ignore_index=IGNORED, label_smoothing=label_smoothing)

    def loss_sum(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Per text, the mean cross-entropy of its labelled sub-tokens (0 for a text with none), summed."""
        per_token = cross_entropy(logits.float().transpose(1, 2), labels, ignore_index=IGNORED, reduction="none")
        mask = (labels != IGNORED).float()
        return ((per_token * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)).sum()

    def outputs(self, logits: torch.Tensor, labels: torch.Tensor) -> list[Any]:
        predicted = logits.argmax(dim=-1).cpu()
        mask = (labels != IGNORED).cpu()
        return [[int(v) for v in predicted[row][mask[row]].tolist()] for row in range(predicted.shape[0])]

    def label_array(self, split: TokenizedSplit) -> np.ndarray:
        from hfst_train.tasks.base import as_array

        return as_array([list(tags) for tags in split.word_tags or []])

    def word_sequences(
        self, labels: np.ndarray, outputs: np.ndarray, split: TokenizedSplit
    ) -> tuple[list[list[str]], list[list[str]]]:
        """True and predicted tag names per word, per text (the split's order)."""
        names = split.label_names
        word_index = split.word_index or []
        true: list[list[str]] = []
        predicted: list[list[str]] = []
        for position in range(len(labels)):
            gold = [names[int(t)] for t in labels[position]]
            guess = [OUTSIDE] * len(gold)
            for tag, word in zip(outputs[position], word_index[position], strict=False):
                guess[int(word)] = names[int(tag)]
            true.append(gold)
            predicted.append(guess)
        return true, predicted

    def metrics(
        self, labels: np.ndarray, outputs: np.ndarray, split: TokenizedSplit, options: Mapping[str, Any]
    ) -> dict[str, float]:
        true, predicted = self.word_sequences(labels, outputs, split)
        overall, per_type = entity_scores(true, predicted)
        out = {"eval_precision": overall["precision"], "eval_recall": overall["recall"], "eval_f1": overall["f1"]}
        found = {str(row["type"]): float(row["f1"]) for row in per_type}
        for kind in entity_types_of(split.label_names):  # every type of the tag set, even one never seen
            out[metric_key(kind)] = found.get(kind, 0.0)
        return out

    def official(
        self, labels: np.ndarray, outputs: np.ndarray, split: TokenizedSplit, options: Mapping[str, Any]
    ) -> float:
        return self.metrics(labels, outputs, split, options)["eval_f1"]

    def details(
        self, labels: np.ndarray, outputs: np.ndarray, split: TokenizedSplit, options: Mapping[str, Any]
    ) -> dict[str, Any]:
        true, predicted = self.word_sequences(labels, outputs, split)
        _, per_type = entity_scores(true, predicted)
        words = split.words or [[] for _ in true]
        mistakes = [
            {"tokens": list(words[i]), "true": true[i], "predicted": predicted[i]}
            for i in range(len(true))
            if true[i] != predicted[i]
        ][:MAX_MISTAKES]
        return {"per_class": [], "confusion_matrix": [], "details": {"per_type": per_type, "mistakes": mistakes}}


def entity_types_of(tag_names: Sequence[str]) -> list[str]:
    from hfst_train.tasks.bio import entity_types

    return entity_types(tag_names)
