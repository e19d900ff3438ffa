"""Inference handler shipped in the model artifact as ``code/inference.py``.

Hooks of the Hugging Face inference toolkit: ``model_fn``, ``input_fn``,
``predict_fn``, ``output_fn``. Request: ``{"inputs": str | [str], "parameters":
{"top_k": int}}``. Response: ``[{"label": "positive", "score": 0.98}]`` for one
string (the ``top_k`` best, 1 by default, best first), a list of such lists for a
list of strings. Bad requests raise ``InvalidRequestError`` (a ``ValueError``),
which the server answers with a 4xx and the message. Texts are truncated at the
length the model was trained with (``code/serving.json``, written at training
time; 512 when absent). This file is self-contained (torch and transformers only).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_INPUTS = 64
MAX_CHARACTERS = 20_000
DEFAULT_MAX_LENGTH = 512
SERVING_FILE = "serving.json"  # in code/: {"max_length": <tokens per text at training time>}
JSON_TYPE = "application/json"
KNOWN_PARAMETERS = frozenset({"top_k"})


class InvalidRequestError(ValueError):
    """The request cannot be answered as sent (the message says why)."""


class UnsupportedMediaTypeError(InvalidRequestError):
    """The request body or the accepted response type is not JSON."""


@dataclass(frozen=True)
class LoadedModel:
    """The model, its tokenizer and the label names from its config."""

    model: Any
    tokenizer: Any
    labels: tuple[str, ...]
    device: Any
    max_length: int


@dataclass(frozen=True)
class Request:
    """A validated request."""

    texts: tuple[str, ...]
    single: bool
    top_k: int


def model_fn(model_dir: str, context: Any = None) -> LoadedModel:
    """Load the model (safetensors only, no remote code) and its tokenizer."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, trust_remote_code=False, use_safetensors=True)
    model.to(device)
    model.eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir, trust_remote_code=False)
    id2label = model.config.id2label
    labels = tuple(str(id2label[index]) for index in range(model.config.num_labels))
    limits = [int(getattr(model.config, "max_position_embeddings", 0) or 0), int(tokenizer.model_max_length or 0)]
    usable = [limit for limit in limits if 0 < limit < 1_000_000]
    return LoadedModel(model, tokenizer, labels, device, min([trained_max_length(model_dir), *usable]))


def trained_max_length(model_dir: str) -> int:
    """Tokens per text the model was trained with (``code/serving.json``); ``DEFAULT_MAX_LENGTH`` when absent."""
    try:
        recorded = json.loads((Path(model_dir) / "code" / SERVING_FILE).read_text(encoding="utf-8"))["max_length"]
    except (OSError, ValueError, TypeError, KeyError):
        return DEFAULT_MAX_LENGTH
    return (
        recorded
        if isinstance(recorded, int) and not isinstance(recorded, bool) and recorded > 0
        else DEFAULT_MAX_LENGTH
    )


def _media_type(value: str | None) -> str:
    return (value or "").split(";")[0].strip().lower()


def input_fn(input_data: str | bytes | bytearray, content_type: str, context: Any = None) -> Request:
    """Parse and validate a JSON request."""
    if _media_type(content_type) != JSON_TYPE:
        raise UnsupportedMediaTypeError(f"content type {content_type!r} is not supported; send {JSON_TYPE}")
    try:
        text = input_data.decode("utf-8") if isinstance(input_data, (bytes, bytearray)) else input_data
        payload = json.loads(text)
    except (UnicodeDecodeError, ValueError) as error:
        raise InvalidRequestError(f"the request body is not valid JSON: {error}") from None
    except RecursionError:
        raise InvalidRequestError("the request body is nested too deeply") from None
    if not isinstance(payload, dict):
        raise InvalidRequestError('the request must be a JSON object like {"inputs": "text"}')
    extra = sorted(set(payload) - {"inputs", "parameters"})
    if extra:
        raise InvalidRequestError(f"unknown request fields {extra}; allowed: inputs, parameters")
    if "inputs" not in payload:
        raise InvalidRequestError('the request has no "inputs" (a string or a list of strings)')
    texts, single = _texts(payload["inputs"])
    return Request(texts=texts, single=single, top_k=_top_k(payload.get("parameters")))


def _texts(inputs: Any) -> tuple[tuple[str, ...], bool]:
    single = isinstance(inputs, str)
    items = [inputs] if single else inputs
    if not isinstance(items, list):
        raise InvalidRequestError(f'"inputs" must be a string or a list of strings, not {type(inputs).__name__}')
    if not items:
        raise InvalidRequestError('"inputs" is an empty list')
    if len(items) > MAX_INPUTS:
        raise InvalidRequestError(f'"inputs" has {len(items)} texts; at most {MAX_INPUTS} per request')
    for position, item in enumerate(items):
        where = '"inputs"' if single else f'"inputs"[{position}]'
        if not isinstance(item, str):
            raise InvalidRequestError(f"{where} must be a string, not {type(item).__name__}")
        if not item.strip():
            raise InvalidRequestError(f"{where} is an empty string")
        if len(item) > MAX_CHARACTERS:
            raise InvalidRequestError(f"{where} has {len(item)} characters; at most {MAX_CHARACTERS}")
        try:
            item.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidRequestError(f"{where} holds invalid Unicode (a lone surrogate)") from None
    return tuple(items), single


def _top_k(parameters: Any) -> int:
    if parameters is None:
        return 1
    if not isinstance(parameters, dict):
        raise InvalidRequestError('"parameters" must be a JSON object')
    unknown = sorted(set(parameters) - KNOWN_PARAMETERS)
    if unknown:
        raise InvalidRequestError(f"unknown parameters {unknown}; supported: {sorted(KNOWN_PARAMETERS)}")
    top_k = parameters.get("top_k", 1)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise InvalidRequestError(f'"top_k" must be a positive integer, not {top_k!r}')
    return top_k


def predict_fn(data: Request, model: LoadedModel, context: Any = None) -> list[Any]:
    """Class probabilities for every text; the ``top_k`` best labels of each, best first."""
    import torch

    encoded = model.tokenizer(
        list(data.texts), truncation=True, max_length=model.max_length, padding=True, return_tensors="pt"
    )
    encoded = {name: tensor.to(model.device) for name, tensor in encoded.items() if name != "token_type_ids"}
    with torch.inference_mode():
        probabilities = torch.softmax(model.model(**encoded).logits.float(), dim=-1).cpu()
    k = min(data.top_k, len(model.labels))
    scores, indices = probabilities.topk(k, dim=-1)
    answers = [
        [{"label": model.labels[int(i)], "score": float(s)} for s, i in zip(row_scores, row_indices, strict=True)]
        for row_scores, row_indices in zip(scores, indices, strict=True)
    ]
    return answers[0] if data.single else answers


def accepts_json(accept: str | None) -> bool:
    """Whether an ``Accept`` header admits JSON: lists, wildcards and q-values (the most specific range wins).

    The local endpoint's ``accept_quality`` does the same before the model runs; this file ships alone
    in model artifacts (SageMaker's handler calls it), so it can't import the library's copy.
    """
    if accept is None or not accept.strip():
        return True
    best = (-1, 0.0)  # (specificity, quality) of the most specific range that matches JSON
    for item in accept.split(",")[:100]:
        media_range, *parameters = item.split(";")
        specificity = {JSON_TYPE: 2, "application/*": 1, "*/*": 0}.get(media_range.strip().lower())
        if specificity is None:
            continue
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = 0.0
                quality = quality if 0.0 <= quality <= 1.0 else 0.0
        if specificity > best[0] or (specificity == best[0] and quality > best[1]):
            best = (specificity, quality)
    return best[1] > 0.0


def output_fn(prediction: list[Any], accept: str | None, context: Any = None) -> str:
    """Encode the prediction as JSON (the only response type), for any ``Accept`` that admits JSON."""
    if not accepts_json(accept):
        raise UnsupportedMediaTypeError(f"accept type {accept!r} is not supported; use {JSON_TYPE}")
    return json.dumps(prediction)
