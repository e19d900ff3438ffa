"""A model too large for one GPU's memory, flagged before submit.

Rule of thumb (Hugging Face, "Model training anatomy", https://huggingface.co/docs/transformers/model_memory_anatomy):
full fine-tuning keeps, per parameter, the weights (4 bytes in fp32; 6 with mixed precision, which adds a half
copy), the gradients (4) and the optimizer's states (AdamW/Adam 8: two moments; SGD with momentum 4; Adafactor's
factored states, close to 0). So AdamW needs ~16 bytes/parameter in fp32 and ~18 with fp16/bf16 mixed precision;
activations (batch x length dependent) come on top. Data-parallel training (torchrun/DDP) keeps a full replica on
every GPU, so the figure is per GPU whatever ``training.distribution`` is. Above the GPU's memory a trial
certainly fails with CUDA out of memory; the figure is a lower bound, so only that case is flagged.

LoRA (the bundled package's ``lora_r`` > 0 in every trial) freezes the base: gradients and optimizer states exist
only for the adapters and the classification head (well under 1% of the parameters, so left out), and the rule
counts the weights alone (4 bytes in fp32, 6 mixed).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ..specs.job import TuningJobSpec
from ._findings import Findings
from ._reach import extreme, reach, texts_of
from .gpus import gpus_of
from .model_limits import _cached_hub_file, _json, _local_folder

#: Optimizer -> bytes of state per parameter (above; the bundled package's ``optimizer`` choices).
OPTIMIZER_STATE_BYTES: MappingProxyType[str, int] = MappingProxyType({"adamw": 8, "adam": 8, "sgd": 4, "adafactor": 0})
#: Bytes per parameter for the weights: fp32 keeps one fp32 copy; mixed precision an fp32 master plus a half copy.
WEIGHT_BYTES: MappingProxyType[str, int] = MappingProxyType({"fp32": 4, "mixed": 6})
GRADIENT_BYTES = 4
#: Parameter counts of well-known hub models, for when their config.json is not on this machine. Sources: the
#: models' papers and Hugging Face model cards (DistilBERT 66M; BERT base 110M / large 340M; RoBERTa base 125M /
#: large 355M; DeBERTa-v3 base 184M / large 435M; XLM-R base 270M / large 550M; GPT-2 124M/355M/774M/1.5B;
#: ELECTRA base 110M; all-MiniLM-L6-v2 22.7M; Llama 2 7B/13B; Mistral 7B 7.24B).
PARAMETERS_BY_HUB_ID: MappingProxyType[str, int] = MappingProxyType(
    {
        "distilbert-base-uncased": 66_000_000,
        "distilbert/distilbert-base-uncased": 66_000_000,
        "distilbert-base-cased": 65_000_000,
        "distilroberta-base": 82_000_000,
        "bert-base-uncased": 110_000_000,
        "google-bert/bert-base-uncased": 110_000_000,
        "bert-base-cased": 110_000_000,
        "bert-large-uncased": 340_000_000,
        "roberta-base": 125_000_000,
        "FacebookAI/roberta-base": 125_000_000,
        "roberta-large": 355_000_000,
        "FacebookAI/roberta-large": 355_000_000,
        "microsoft/deberta-v3-base": 184_000_000,
        "microsoft/deberta-v3-large": 435_000_000,
        "xlm-roberta-base": 270_000_000,
        "xlm-roberta-large": 550_000_000,
        "google/electra-base-discriminator": 110_000_000,
        "sentence-transformers/all-MiniLM-L6-v2": 22_700_000,
        "gpt2": 124_000_000,
        "gpt2-medium": 355_000_000,
        "gpt2-large": 774_000_000,
        "gpt2-xl": 1_500_000_000,
        "meta-llama/Llama-2-7b-hf": 6_740_000_000,
        "meta-llama/Llama-2-13b-hf": 13_000_000_000,
        "mistralai/Mistral-7B-v0.1": 7_240_000_000,
    }
)
#: config.json spellings of the same sizes across architectures (BERT-like, DistilBERT, GPT-2, T5-like).
_HIDDEN = ("hidden_size", "dim", "n_embd", "d_model")
_LAYERS = ("num_hidden_layers", "n_layers", "n_layer", "num_layers")
_INTERMEDIATE = ("intermediate_size", "hidden_dim", "n_inner", "d_ff")
#: Architectures whose feed-forward block has three matrices (gate, up, down: SwiGLU) instead of two.
_GATED = frozenset({"llama", "mistral", "mixtral", "qwen2", "qwen3", "gemma", "gemma2", "phi3"})


@dataclass(frozen=True)
class ParameterCount:
    """A model's parameters and where the figure comes from."""

    parameters: int
    source: str


def _int(config: dict[str, Any], names: tuple[str, ...]) -> int | None:
    for name in names:
        value = config.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def parameters_from_config(config: dict[str, Any]) -> int | None:
    """Approximate parameters of a transformer from its ``config.json``: embeddings ``vocab x hidden`` plus, per
    layer, attention ``4 x hidden^2`` and feed-forward ``2 x hidden x intermediate`` (3x for gated ones); biases
    and norms (under 1%) left out. Hand-written because it needs no torch/transformers import (seconds); the
    exact count (``torch.device("meta")`` init) agrees within a few percent (a test checks)."""
    hidden, layers, vocab = _int(config, _HIDDEN), _int(config, _LAYERS), _int(config, ("vocab_size",))
    if hidden is None or layers is None or vocab is None:
        return None
    intermediate = _int(config, _INTERMEDIATE) or 4 * hidden
    positions = _int(config, ("max_position_embeddings", "n_positions")) or 0
    feed_forward = (3 if config.get("model_type") in _GATED else 2) * hidden * intermediate
    return (vocab + positions) * hidden + layers * (4 * hidden * hidden + feed_forward)


def parameter_count(model: str) -> ParameterCount | None:
    """``model``'s parameters: from its config.json when on this machine (folder, ``package://`` or the local
    hub cache), else from ``PARAMETERS_BY_HUB_ID``; ``None`` when unknown (never downloaded)."""
    folder = _local_folder(model)
    config_file = folder / "config.json" if folder is not None else _cached_hub_file(model, "config.json")
    if config_file is not None:
        counted = parameters_from_config(_json(config_file))
        if counted is not None:
            return ParameterCount(counted, f"{config_file} (vocab x hidden + layers x (4 hidden² + FFN))")
    if model in PARAMETERS_BY_HUB_ID:
        return ParameterCount(PARAMETERS_BY_HUB_ID[model], "hfst's table of well-known hub models")
    return None


def bytes_per_parameter(optimizer: str, mixed: bool, lora: bool = False) -> int:
    """Weights + gradients + optimizer states per parameter (the rule of thumb above); the weights alone with LoRA."""
    weights = WEIGHT_BYTES["mixed" if mixed else "fp32"]
    return weights if lora else weights + GRADIENT_BYTES + OPTIMIZER_STATE_BYTES.get(optimizer, 8)


def check_memory_fit(spec: TuningJobSpec, findings: Findings) -> None:
    """A model whose weights, gradients and optimizer states alone exceed one GPU's memory (bundled package)."""
    training = spec.training
    gpus = gpus_of(training.instance_type)
    if gpus is None or not training.uses_bundled_package:
        return
    count = parameter_count(training.model)
    if count is None:
        return
    optimizers = texts_of(spec, "optimizer", "adamw")
    # precision auto is bf16/fp16 on every GPU the table lists: mixed precision.
    mixed_choices = {text != "fp32" for text in texts_of(spec, "precision", "auto")}
    lora = extreme(spec, "lora_r", 0, high=False) > 0  # every trial trains LoRA adapters only
    needs = {
        (optimizer, mixed): count.parameters * bytes_per_parameter(optimizer, mixed, lora) / 1e9
        for optimizer in optimizers
        for mixed in mixed_choices
    }
    too_big = {choice: gb for choice, gb in needs.items() if gb > gpus.memory_gb}
    if not too_big:
        return
    (optimizer, mixed), need = max(too_big.items(), key=lambda item: item[1])
    per_parameter = bytes_per_parameter(optimizer, mixed, lora)
    every = len(too_big) == len(needs)
    found = reach(spec, "optimizer")
    which = "" if every or found is None else f" (with optimizer {optimizer}, {found.where})"
    findings.add(
        "training.instance_type",
        f"{training.model} has ~{count.parameters / 1e6:,.0f}M parameters ({count.source}); "
        f"{'LoRA (lora_r > 0: the frozen weights)' if lora else 'full fine-tuning'} "
        f"with {optimizer} in {'mixed precision' if mixed else 'fp32'} needs ~{per_parameter} "
        f"bytes/parameter = {need:,.1f} GB before activations, more than one {gpus.gpu.model}'s "
        f"{gpus.memory_gb:g} GB on {training.instance_type}{which}: trials fail with CUDA out of memory (each GPU "
        "holds a full copy, also with torchrun): choose an instance type with more GPU memory or a smaller model",
        "error" if every else "warning",
    )
