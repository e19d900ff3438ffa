"""Spot-safe checkpoints: the full training state at each evaluation, and the best model so far.

Layout of the checkpoint folder: ``state.pt`` (model, optimizer, scheduler,
grad scaler, RNG, step, position in the epoch, evaluation history, best so
far) and ``best/`` (the best model as safetensors). Both are replaced
atomically, so a job killed mid-write resumes from the previous checkpoint.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hfst_train.errors import CheckpointError

STATE_FILE = "state.pt"
BEST_DIR = "best"


def save_state(checkpoint_dir: Path, payload: dict[str, Any]) -> None:
    """Write ``state.pt`` atomically."""
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    temporary = checkpoint_dir / (STATE_FILE + ".tmp")
    torch.save(payload, temporary)
    os.replace(temporary, checkpoint_dir / STATE_FILE)


def load_state(checkpoint_dir: Path) -> dict[str, Any] | None:
    """The latest training state, or None when the folder holds none."""
    path = checkpoint_dir / STATE_FILE
    if not path.is_file():
        return None
    try:
        state: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise CheckpointError(f"cannot read the checkpoint {path}: {type(error).__name__}: {error}") from error
    return state


def save_pretrained(model: Any, folder: Path) -> None:
    """``save_pretrained`` with safetensors (explicit on transformers 4.x, the only format on 5.x)."""
    import inspect

    save = model.save_pretrained
    if "safe_serialization" in inspect.signature(save).parameters:
        save(str(folder), safe_serialization=True)
    else:
        save(str(folder))


#: transformers 5 saves a tokenizer without a model-specific class (Llama-3-, Qwen-style ``tokenizer.json``
#: only) under its 5.x name, which transformers 4.x (the default inference image has 4.51) cannot load;
#: ``PreTrainedTokenizerFast``, the name such checkpoints carry on the hub, loads in both.
PORTABLE_TOKENIZER_CLASSES = {"TokenizersBackend": "PreTrainedTokenizerFast"}


def save_tokenizer(tokenizer: Any, folder: Path) -> None:
    """``save_pretrained`` of the tokenizer, with a ``tokenizer_class`` every serving image's transformers loads."""
    tokenizer.save_pretrained(str(folder))
    settings = folder / "tokenizer_config.json"
    if not settings.is_file():
        return
    written = json.loads(settings.read_text(encoding="utf-8"))
    portable = PORTABLE_TOKENIZER_CLASSES.get(written.get("tokenizer_class"))
    if portable is not None:
        settings.write_text(json.dumps({**written, "tokenizer_class": portable}, indent=2), encoding="utf-8")


def best_is_complete(folder: Path) -> bool:
    """``best/`` holds a whole model (``config.json``) or, under LoRA, its adapter (``adapter_config.json``)."""
    return (folder / "config.json").is_file() or (folder / "adapter_config.json").is_file()


def save_best(checkpoint_dir: Path, model: nn.Module) -> Path:
    """Replace ``best/`` with this model (config + safetensors); a peft model saves its adapter and head only."""
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    temporary = checkpoint_dir / (BEST_DIR + ".tmp")
    final = checkpoint_dir / BEST_DIR
    shutil.rmtree(temporary, ignore_errors=True)
    save_pretrained(model, temporary)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(temporary, final)
    return final


def rng_state() -> dict[str, Any]:
    """Torch RNG states (CPU and every GPU): dropout continues the same way after a resume."""
    state: dict[str, Any] = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
