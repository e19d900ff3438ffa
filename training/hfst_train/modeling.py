"""Load the model and tokenizer with the dataset's label names and the dropout override."""

from __future__ import annotations

from typing import Any

from torch import nn

from hfst_train.errors import ModelError

#: Config attributes that hold a dropout probability, across BERT, DistilBERT, RoBERTa, DeBERTa, ELECTRA...
DROPOUT_ATTRIBUTES = (
    "hidden_dropout_prob",
    "attention_probs_dropout_prob",
    "classifier_dropout",
    "dropout",
    "attention_dropout",
    "seq_classif_dropout",
    "activation_dropout",
    "hidden_dropout",
    "pooler_dropout",
)


def load_model_and_tokenizer(
    name_or_path: str, label_names: tuple[str, ...], dropout: float, problem_type: str = "single_label_classification"
) -> tuple[nn.Module, Any]:
    """A model with the problem type's head whose config carries ``id2label``/``label2id`` from the data.

    Sequence types set Hugging Face's ``config.problem_type`` (regression: one output); token
    classification loads ``AutoModelForTokenClassification`` with the BIO tag names.
    ``dropout`` >= 0 overrides every dropout probability the config declares; -1 keeps them.
    """
    import transformers
    from transformers import AutoConfig, AutoTokenizer

    from hfst_train.tasks import task_for

    task = task_for(problem_type)
    id2label = dict(enumerate(label_names))
    extra = {"problem_type": task.hf_problem_type} if task.hf_problem_type else {}
    config = AutoConfig.from_pretrained(
        name_or_path,
        num_labels=task.num_labels(label_names),
        id2label=id2label,
        label2id={name: index for index, name in id2label.items()},
        trust_remote_code=False,
        **extra,
    )
    if dropout >= 0:
        for attribute in DROPOUT_ATTRIBUTES:
            if hasattr(config, attribute):
                setattr(config, attribute, dropout)
    model = getattr(transformers, task.auto_model).from_pretrained(
        name_or_path, config=config, ignore_mismatched_sizes=True, trust_remote_code=False
    )
    if dropout >= 0:  # modules some architectures build with a fixed p also follow the override
        for module in model.modules():
            if isinstance(module, nn.Dropout):
                module.p = dropout
    tokenizer = AutoTokenizer.from_pretrained(name_or_path, trust_remote_code=False)
    ensure_pad_token(model, tokenizer)
    return model, tokenizer


def ensure_pad_token(model: nn.Module, tokenizer: Any) -> None:
    """Give decoder models (Llama-, Qwen-, Mistral-style) the pad token a sequence classifier needs.

    A decoder classifies from its last non-pad token, which it finds through ``config.pad_token_id``
    (right or left padding both work once it is set). A tokenizer without a pad token pads with its
    end-of-sequence token; the model's config gets the tokenizer's pad id when it has none. The saved
    tokenizer and config carry both, so the serving handler pads the same way.
    """
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise ModelError(
                f"the tokenizer of {type(model).__name__} has neither a pad token nor an end-of-sequence token "
                "to pad with; add a pad_token to its tokenizer_config.json"
            )
        tokenizer.pad_token = tokenizer.eos_token
    config: Any = getattr(model, "config", None)
    if config is not None and getattr(config, "pad_token_id", None) is None:
        config.pad_token_id = tokenizer.pad_token_id


def dropout_report(model: nn.Module) -> dict[str, Any]:
    """The dropout values in the model config and in the model's ``nn.Dropout`` modules."""
    config = getattr(model, "config", None)
    in_config = {name: getattr(config, name) for name in DROPOUT_ATTRIBUTES if hasattr(config, name)}
    in_modules = sorted({float(module.p) for module in model.modules() if isinstance(module, nn.Dropout)})
    return {"config": in_config, "modules": in_modules}


def max_sequence_length(model: nn.Module, tokenizer: Any) -> int:
    """The longest sequence the model accepts (position embeddings), capped by the tokenizer's limit."""
    config = getattr(model, "config", None)
    limits = [
        int(getattr(config, "max_position_embeddings", 0) or 0),
        int(getattr(tokenizer, "model_max_length", 0) or 0),
    ]
    usable = [limit for limit in limits if 0 < limit < 1_000_000]
    return min(usable) if usable else 512
