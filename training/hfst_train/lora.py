"""LoRA through ``peft`` (``lora_r`` > 0), gradient checkpointing, and the merge that makes the saved model servable.

``peft`` is imported only when ``lora_r`` > 0, so the package runs without it when LoRA is off.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from torch import nn

from hfst_train.errors import HyperparameterError

#: ``lora_target_modules`` value that lets peft pick the attention projections it knows for the architecture.
AUTO_TARGETS = "auto"


def target_modules(value: str) -> list[str] | None:
    """``auto`` -> None (peft's defaults for the architecture); ``q_proj,v_proj`` -> the listed module names."""
    if value.strip().lower() == AUTO_TARGETS:
        return None
    names = [name.strip() for name in value.split(",") if name.strip()]
    if not names:
        raise HyperparameterError(
            f"hyperparameter 'lora_target_modules': {value!r} names no module; use 'auto' or names like 'q_proj,v_proj'"
        )
    return names


def _import_peft() -> Any:
    try:
        import peft
    except ImportError:
        raise HyperparameterError(
            "hyperparameter 'lora_r' > 0 needs the peft package, which is not installed: "
            "pip install peft (the training package's requirements.txt installs it in the container)"
        ) from None
    return peft


def apply_lora(model: nn.Module, hps: dict[str, Any]) -> nn.Module:
    """Wrap ``model`` in a peft LoRA model for sequence classification, or return it unchanged (``lora_r`` 0).

    ``task_type`` SEQ_CLS keeps the classification head (``score``/``classifier``) fully trainable through
    ``modules_to_save``; every other base weight is frozen.
    """
    rank = int(hps["lora_r"])
    if rank <= 0:
        return model
    peft = _import_peft()
    config = peft.LoraConfig(
        task_type=peft.TaskType.TOKEN_CLS if _is_token_model(model) else peft.TaskType.SEQ_CLS,
        r=rank,
        lora_alpha=hps["lora_alpha"],
        lora_dropout=hps["lora_dropout"],
        target_modules=target_modules(hps["lora_target_modules"]),
    )
    try:
        with warnings.catch_warnings():
            # peft reads transformers' deprecated ``is_gradient_checkpointing`` alias (theirs, not ours)
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
            wrapped: nn.Module = peft.get_peft_model(model, config)
    except ValueError as error:  # peft's own message names the modules it could not find or has no default for
        raise HyperparameterError(
            f"hyperparameter 'lora_target_modules' ({hps['lora_target_modules']!r}) does not fit "
            f"{type(model).__name__}: {error}"
        ) from None
    return wrapped


def enable_gradient_checkpointing(model: nn.Module, enabled: bool) -> None:
    """Recompute activations in the backward pass instead of keeping them (less memory, ~30% more compute).

    The non-reentrant variant needs no ``requires_grad`` inputs, so it works with frozen embeddings (LoRA)
    and under DDP.
    """
    if not enabled:
        return
    if not getattr(model, "supports_gradient_checkpointing", False):
        raise HyperparameterError(
            f"hyperparameter 'gradient_checkpointing': {type(model).__name__} does not support gradient checkpointing"
        )
    kwargs = {"use_reentrant": False}
    if hasattr(model, "activation_checkpointing_enable"):  # transformers 5 (the old name warns there)
        model.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)  # type: ignore[operator]
    else:  # transformers 4
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)  # type: ignore[operator]


def checkpointing_is_on(model: nn.Module) -> bool:
    """Whether the (possibly peft-wrapped) model recomputes activations (transformers 5 renamed the flag)."""
    for flag in ("is_activation_checkpointing", "is_gradient_checkpointing"):
        for candidate in (model, getattr(model, "get_base_model", lambda: model)()):
            if flag in dir(type(candidate)):
                return bool(getattr(candidate, flag))
    return False


def is_lora(model: nn.Module) -> bool:
    """Whether ``model`` is a peft model (without importing peft when it is not installed)."""
    return type(model).__module__.startswith("peft.")


def lora_report(model: nn.Module, hps: dict[str, Any]) -> dict[str, Any]:
    """What LoRA does in this run: rank, targets found, and trainable vs all parameters."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    report: dict[str, Any] = {
        "enabled": is_lora(model),
        "r": hps["lora_r"],
        "trainable_parameters": trainable,
        "all_parameters": total,
    }
    if is_lora(model):
        peft_model: Any = model
        config = peft_model.peft_config["default"]
        report.update(
            alpha=config.lora_alpha,
            dropout=config.lora_dropout,
            target_modules=sorted(config.target_modules or []),
            modules_to_save=sorted(config.modules_to_save or []),
            lora_parameters=sum(p.numel() for name, p in model.named_parameters() if "lora_" in name),
        )
    return report


def load_adapter_weights(model: nn.Module, folder: Path) -> None:
    """Put the adapter (and head) weights saved in ``folder`` (``best/``) back into the peft ``model``."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    set_peft_model_state_dict(model, load_file(str(folder / "adapter_model.safetensors")))


def merged(model: nn.Module) -> nn.Module:
    """The plain transformers model to save: LoRA weights merged into the base (in place; training is over).

    The result loads with ``AutoModelForSequenceClassification.from_pretrained`` and serves unchanged.
    """
    if not is_lora(model):
        return model
    plain: nn.Module = model.merge_and_unload()  # type: ignore[operator]
    return plain


def _is_token_model(model: nn.Module) -> bool:
    """A token-classification model (peft's TOKEN_CLS keeps its per-token head trainable)."""
    return type(model).__name__.endswith("ForTokenClassification")
