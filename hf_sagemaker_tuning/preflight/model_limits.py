"""The longest sequence a model accepts, read offline from its ``config.json`` and ``tokenizer_config.json``.

Known when the model is a folder (or a ``package://`` model) on this machine, or a hub model already in the
local Hugging Face cache; never downloaded. A ``dataset.max_length`` above it fails at run time: the position
embedding table has no row for the extra positions (``IndexError: index out of range in self``), and
``hfst prepare`` refuses it against the tokenizer's ``model_max_length``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DataError
from ..packaged import is_package_uri, package_path
from ..specs._hub import looks_like_local_path

#: Models whose position ids start after the padding index (transformers' RobertaEmbeddings and kin:
#: ``create_position_ids_from_input_ids`` numbers positions from ``padding_idx + 1``), so
#: ``max_position_embeddings - pad_token_id - 1`` positions are usable (RoBERTa: 514 -> 512; BERTweet: 130 -> 128).
OFFSET_POSITION_MODELS = frozenset(
    {"roberta", "xlm-roberta", "xlm-roberta-xl", "camembert", "longformer", "data2vec-text", "mpnet", "ibert"}
)
#: ``model_max_length`` above this is transformers' "no limit" sentinel (``int(1e30)``), not a limit.
_NO_LIMIT = 1_000_000


@dataclass(frozen=True)
class LengthLimit:
    """The longest input in tokens and where that figure comes from."""

    tokens: int
    source: str


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _local_folder(model: str) -> Path | None:
    if is_package_uri(model):
        try:
            return Path(package_path(model))
        except DataError:
            return None
    if looks_like_local_path(model) or Path(model).exists():
        folder = Path(model).expanduser()
        return folder if folder.is_dir() else None
    return None


def _cached_hub_file(model: str, name: str) -> Path | None:
    """``name`` of hub model ``model`` when it is already in the local cache (no network)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - a dependency of the data extra
        return None
    try:
        found = try_to_load_from_cache(model, name)
    except ValueError:  # not a valid repo id for the cache
        return None
    return Path(found) if isinstance(found, str) else None


def length_limit(model: str) -> LengthLimit | None:
    """The longest sequence ``model`` accepts, when its files are on this machine; else ``None``."""
    folder = _local_folder(model)
    if folder is not None:
        config, tokenizer = _json(folder / "config.json"), _json(folder / "tokenizer_config.json")
        where = str(folder)
    else:
        config_file = _cached_hub_file(model, "config.json")
        if config_file is None:
            return None
        tokenizer_file = _cached_hub_file(model, "tokenizer_config.json")
        config, tokenizer = _json(config_file), _json(tokenizer_file) if tokenizer_file else {}
        where = f"{model} (local hub cache)"
    limits: list[LengthLimit] = []
    positions = config.get("max_position_embeddings")
    if isinstance(positions, int) and not isinstance(positions, bool) and positions > 0:
        usable, how = positions, f"config.json max_position_embeddings {positions}"
        if config.get("model_type") in OFFSET_POSITION_MODELS:
            pad = config.get("pad_token_id")
            offset = (pad if isinstance(pad, int) else 1) + 1
            usable, how = positions - offset, f"{how}, less {offset} as positions start after the padding id"
        limits.append(LengthLimit(usable, f"{where}: {how}"))
    model_max = tokenizer.get("model_max_length")
    if isinstance(model_max, int) and not isinstance(model_max, bool) and 0 < model_max < _NO_LIMIT:
        limits.append(LengthLimit(model_max, f"{where}: tokenizer_config.json model_max_length {model_max}"))
    return min(limits, key=lambda limit: limit.tokens) if limits else None
