"""Load the fast tokenizer, fingerprint it, and tokenize a split with ``Dataset.map(batched=True)``."""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass
from typing import Any

from ..errors import DataError
from ._hub import _offline, hub_reachable

TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "spiece.model",
    "sentencepiece.bpe.model",
    "config.json",
)
_LENGTH = "_n_tokens"


@dataclass(frozen=True)
class LengthStats:
    """Tokens per example before truncation (nearest-rank percentiles)."""

    p50: int
    p95: int
    max: int
    mean: float


def tokenizer_identity(tokenizer: str) -> dict[str, str]:
    """Name of the tokenizer plus, for a local folder, a sha256 of its vocabulary and config files."""
    if not os.path.isdir(tokenizer):
        return {"name": tokenizer}
    digest = hashlib.sha256()
    for name in TOKENIZER_FILES:
        path = os.path.join(tokenizer, name)
        if os.path.isfile(path):
            digest.update(name.encode() + b"\0")
            with open(path, "rb") as handle:
                digest.update(handle.read())
    return {"name": os.path.abspath(tokenizer), "files_sha256": digest.hexdigest()}


def load_tokenizer(tokenizer: str) -> Any:
    """``AutoTokenizer.from_pretrained(tokenizer, use_fast=True)``; a slow or missing tokenizer is a ``DataError``."""
    if not os.path.isdir(tokenizer) and not _offline():
        reason = hub_reachable()
        if reason is not None:
            raise DataError(
                f"cannot load tokenizer {tokenizer!r}: it is not a local folder and the hub is "
                f"unreachable ({reason}); pass the folder of a downloaded model"
            )
    from transformers import AutoTokenizer

    try:
        loaded = AutoTokenizer.from_pretrained(tokenizer, use_fast=True, trust_remote_code=False)
    except Exception as error:
        raise DataError(f"cannot load tokenizer {tokenizer!r}: {type(error).__name__}: {error}") from None
    if not getattr(loaded, "is_fast", False):
        raise DataError(f"tokenizer {tokenizer!r} has no fast (Rust) version; a fast tokenizer is required")
    return loaded


def percentile(sorted_values: list[int], q: float) -> int:
    """Nearest-rank percentile of an ascending list (0 for an empty list)."""
    if not sorted_values:
        return 0
    return sorted_values[max(0, math.ceil(q / 100 * len(sorted_values)) - 1)]


def tokenize(dataset: Any, tokenizer: Any, max_length: int, pair: bool, desc: str) -> tuple[Any, LengthStats, int]:
    """Add the tokenizer's columns to ``dataset`` (truncated to ``max_length``, not padded).

    Returns the new dataset, length statistics before truncation and how many examples were truncated.
    """

    def encode(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        second = batch["text_pair"] if pair else None
        encoded = dict(tokenizer(batch["text"], second, truncation=True, max_length=max_length))
        lengths = [len(ids) for ids in encoded["input_ids"]]
        full = [i for i, n in enumerate(lengths) if n >= max_length]
        if full:
            again = tokenizer(
                [batch["text"][i] for i in full],
                [second[i] for i in full] if second else None,
                truncation=False,
                add_special_tokens=True,
            )["input_ids"]
            for i, ids in zip(full, again, strict=True):
                lengths[i] = len(ids)
        encoded[_LENGTH] = lengths
        return encoded

    mapped = dataset.map(encode, batched=True, batch_size=1000, desc=desc)
    lengths = sorted(mapped[_LENGTH])
    mapped = mapped.remove_columns([_LENGTH])
    stats = LengthStats(
        percentile(lengths, 50),
        percentile(lengths, 95),
        lengths[-1] if lengths else 0,
        round(sum(lengths) / len(lengths), 2) if lengths else 0.0,
    )
    truncated = sum(1 for n in lengths if n > max_length)
    return mapped, stats, truncated
