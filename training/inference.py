"""Inference handler shipped in the model artifact as ``code/inference.py``.

Hooks of the Hugging Face inference toolkit: ``model_fn``, ``input_fn``,
``predict_fn``, ``output_fn``. Request: ``{"inputs": str | [str], "parameters":
{"top_k": int, "aggregation_strategy": "first" | "simple"}}``. The answer for one
string has the shape of the Hugging Face pipeline for the model's problem type
(``code/serving.json``'s ``problem_type``; a list of strings gets a list of such answers):

- ``single_label_classification`` (the default): ``[{"label": "positive", "score": 0.98}]``,
  softmax scores, the ``top_k`` best (1 by default), best first;
- ``multi_label_classification``: every label (or the ``top_k`` best) with its sigmoid
  score and ``"predicted": score >= threshold`` (``serving.json``'s ``threshold``), best
  first, as the ``text-classification`` pipeline with ``function_to_apply="sigmoid"``;
- ``regression``: ``[{"label": <the config's first label>, "score": <value>}]``, the value
  in the original scale (``serving.json``'s ``target_scale``: ``raw * std + mean``);
- ``token_classification``: ``[{"entity_group", "score", "word", "start", "end"}, ...]``,
  the ``token-classification`` pipeline with ``aggregation_strategy="first"`` (one tag per
  word, its first sub-token's: the sub-token the training package labels), or ``"simple"``
  when the request asks (every sub-token's own tag; untrained on the later sub-tokens).

Bad requests raise ``InvalidRequestError`` (a ``ValueError``), which the server answers
with a 4xx and the message. Texts are truncated at the length the model was trained with
(``serving.json``'s ``max_length``; 512 when absent): tokens past it get no answer. This
file is self-contained (torch and transformers only).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

MAX_INPUTS = 64
MAX_CHARACTERS = 20_000
DEFAULT_MAX_LENGTH = 512
SERVING_FILE = "serving.json"  # in code/: max_length, problem_type, threshold, target_scale (module docstring)
JSON_TYPE = "application/json"
KNOWN_PARAMETERS = frozenset({"top_k", "aggregation_strategy"})
#: Token classification: the pipeline's strategies this handler implements (``first`` by default:
#: the sub-token training labels).
AGGREGATION_STRATEGIES = ("simple", "first")
SINGLE_LABEL, MULTI_LABEL = "single_label_classification", "multi_label_classification"
REGRESSION, TOKEN_CLASSIFICATION = "regression", "token_classification"
PROBLEM_TYPES = (SINGLE_LABEL, MULTI_LABEL, REGRESSION, TOKEN_CLASSIFICATION)
DEFAULT_THRESHOLD = 0.5
#: The pipeline drops entities of these tags (``ignore_labels``' default).
IGNORED_TAGS = frozenset({"O"})


class InvalidRequestError(ValueError):
    """The request cannot be answered as sent (the message says why)."""


class UnsupportedMediaTypeError(InvalidRequestError):
    """The request body or the accepted response type is not JSON."""


@dataclass(frozen=True)
class LoadedModel:
    """The model, its tokenizer, the label names from its config and how to read its outputs."""

    model: Any
    tokenizer: Any
    labels: tuple[str, ...]
    device: Any
    max_length: int
    problem_type: str = SINGLE_LABEL
    threshold: float = DEFAULT_THRESHOLD
    target_scale: tuple[float, float] | None = None  # (mean, std): original = raw * std + mean


@dataclass(frozen=True)
class Request:
    """A validated request (a parameter is ``None`` when not sent)."""

    texts: tuple[str, ...]
    single: bool
    top_k: int | None
    aggregation_strategy: str | None = None
    #: The second text of each pair (``{"text": ..., "text_pair": ...}`` inputs), for models trained on pairs.
    pairs: tuple[str, ...] | None = None


def model_fn(model_dir: str, context: Any = None) -> LoadedModel:
    """Load the model (safetensors only, no remote code), its tokenizer and ``code/serving.json``'s settings."""
    import torch
    from transformers import (
        AutoConfig,
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
        AutoTokenizer,
    )

    settings = serving_settings(model_dir)
    config = AutoConfig.from_pretrained(model_dir, trust_remote_code=False)
    problem_type = settings.get("problem_type") or _problem_type_of(config)
    if problem_type not in PROBLEM_TYPES:
        raise ValueError(f"code/{SERVING_FILE}: problem_type {problem_type!r} is not one of {', '.join(PROBLEM_TYPES)}")
    token_level = any(str(name).endswith("ForTokenClassification") for name in config.architectures or [])
    if token_level != (problem_type == TOKEN_CLASSIFICATION):
        raise ValueError(
            f"code/{SERVING_FILE} says problem_type {problem_type!r} but config.json's architectures are "
            f"{config.architectures}; token_classification needs a *ForTokenClassification model, and only it"
        )
    if problem_type == REGRESSION and config.num_labels != 1:
        raise ValueError(f"a regression model has one output; config.json has num_labels={config.num_labels}")
    loader = AutoModelForTokenClassification if token_level else AutoModelForSequenceClassification
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = loader.from_pretrained(model_dir, trust_remote_code=False, use_safetensors=True)
    model.to(device)
    model.eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir, trust_remote_code=False)
    if token_level and not tokenizer.is_fast:  # entity offsets come from a fast tokenizer's offset mapping
        raise ValueError("token classification needs a fast tokenizer (tokenizer.json in the model folder)")
    id2label = model.config.id2label
    labels = tuple(str(id2label[index]) for index in range(model.config.num_labels))
    limits = [int(getattr(model.config, "max_position_embeddings", 0) or 0), int(tokenizer.model_max_length or 0)]
    usable = [limit for limit in limits if 0 < limit < 1_000_000]
    return LoadedModel(
        model,
        tokenizer,
        labels,
        device,
        min([trained_max_length(model_dir), *usable]),
        problem_type=problem_type,
        threshold=_threshold(settings.get("threshold", DEFAULT_THRESHOLD)),
        target_scale=_target_scale(settings.get("target_scale")),
    )


def serving_settings(model_dir: str) -> dict[str, Any]:
    """``code/serving.json`` as written at training time; ``{}`` when absent or unreadable (older artifacts)."""
    try:
        settings = json.loads((Path(model_dir) / "code" / SERVING_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return settings if isinstance(settings, dict) else {}


def _problem_type_of(config: Any) -> str:
    """Without ``serving.json``'s word: the config's, read as the Hugging Face pipelines read it."""
    if any(str(name).endswith("ForTokenClassification") for name in config.architectures or []):
        return TOKEN_CLASSIFICATION
    if config.problem_type in PROBLEM_TYPES:
        return str(config.problem_type)
    return REGRESSION if config.num_labels == 1 else SINGLE_LABEL


def _threshold(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"code/{SERVING_FILE}: threshold must be a number in [0, 1], not {value!r}")
    return float(value)


def _target_scale(value: Any) -> tuple[float, float] | None:
    if value is None:
        return None
    mean = value.get("mean") if isinstance(value, dict) else None
    std = value.get("std") if isinstance(value, dict) else None
    numbers = [v for v in (mean, std) if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if len(numbers) != 2 or not all(math.isfinite(v) for v in numbers) or numbers[1] <= 0:
        raise ValueError(
            f'code/{SERVING_FILE}: target_scale must be {{"mean": number, "std": number > 0}}, not {value!r}'
        )
    return float(numbers[0]), float(numbers[1])


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
    texts, pairs, single = _texts(payload["inputs"])
    parameters = payload.get("parameters")
    return Request(
        texts=texts,
        single=single,
        top_k=_top_k(parameters),
        aggregation_strategy=_aggregation(parameters),
        pairs=pairs,
    )


def _texts(inputs: Any) -> tuple[tuple[str, ...], tuple[str, ...] | None, bool]:
    """The texts, the second texts of pairs (``None`` without pairs) and whether one input was sent.

    An input is a string or, for a model trained on text pairs, the text-classification
    pipeline's ``{"text": ..., "text_pair": ...}``; one request holds one kind.
    """
    single = isinstance(inputs, (str, dict))
    items = [inputs] if single else inputs
    if not isinstance(items, list):
        raise InvalidRequestError(
            f'"inputs" must be a string, a {{"text", "text_pair"}} object or a list of them, '
            f"not {type(inputs).__name__}"
        )
    if not items:
        raise InvalidRequestError('"inputs" is an empty list')
    if len(items) > MAX_INPUTS:
        raise InvalidRequestError(f'"inputs" has {len(items)} texts; at most {MAX_INPUTS} per request')
    paired = isinstance(items[0], dict)
    firsts, seconds = [], []
    for position, item in enumerate(items):
        where = '"inputs"' if single else f'"inputs"[{position}]'
        if paired != isinstance(item, dict):
            raise InvalidRequestError(f"{where}: send only strings or only text pairs in one request")
        if paired:
            if set(item) != {"text", "text_pair"}:
                raise InvalidRequestError(
                    f'{where} must have exactly the keys "text" and "text_pair", not {sorted(item)}'
                )
            firsts.append(_checked_text(item["text"], f"{where}.text"))
            seconds.append(_checked_text(item["text_pair"], f"{where}.text_pair"))
        else:
            firsts.append(_checked_text(item, where))
    return tuple(firsts), (tuple(seconds) if paired else None), single


def _checked_text(item: Any, where: str) -> str:
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
    return item


def _top_k(parameters: Any) -> int | None:
    if parameters is None:
        return None
    if not isinstance(parameters, dict):
        raise InvalidRequestError('"parameters" must be a JSON object')
    unknown = sorted(set(parameters) - KNOWN_PARAMETERS)
    if unknown:
        raise InvalidRequestError(f"unknown parameters {unknown}; supported: {sorted(KNOWN_PARAMETERS)}")
    if "top_k" not in parameters:
        return None
    top_k = parameters["top_k"]
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise InvalidRequestError(f'"top_k" must be a positive integer, not {top_k!r}')
    return top_k


def _aggregation(parameters: Any) -> str | None:
    """``aggregation_strategy``, when sent (``_top_k`` has checked ``parameters`` already)."""
    if parameters is None or "aggregation_strategy" not in parameters:
        return None
    strategy = parameters["aggregation_strategy"]
    if strategy not in AGGREGATION_STRATEGIES:
        raise InvalidRequestError(
            f'"aggregation_strategy" must be one of {list(AGGREGATION_STRATEGIES)}, not {strategy!r}'
        )
    return str(strategy)


def predict_fn(data: Request, model: LoadedModel, context: Any = None) -> list[Any]:
    """Each text's answer in the shape of the Hugging Face pipeline for the model's problem type."""
    if model.problem_type in (REGRESSION, TOKEN_CLASSIFICATION) and data.top_k is not None:
        raise InvalidRequestError(f'"top_k" applies to classification; this model answers {model.problem_type}')
    if model.problem_type != TOKEN_CLASSIFICATION and data.aggregation_strategy is not None:
        raise InvalidRequestError(
            f'"aggregation_strategy" applies to token classification; this model answers {model.problem_type}'
        )
    if model.problem_type == TOKEN_CLASSIFICATION and data.pairs is not None:
        raise InvalidRequestError("text pairs apply to sequence models; this model tags the tokens of one text")
    if model.problem_type == TOKEN_CLASSIFICATION:
        answers = _entities(data.texts, model, data.aggregation_strategy or "first")
    else:
        answers = _sequence_answers(data, model)
    return answers[0] if data.single else answers


def _sequence_answers(data: Request, model: LoadedModel) -> list[list[dict[str, Any]]]:
    import torch

    encoded = model.tokenizer(
        list(data.texts),
        None if data.pairs is None else list(data.pairs),
        truncation=True,
        max_length=model.max_length,
        padding=True,
        return_tensors="pt",
    )
    encoded = {name: tensor.to(model.device) for name, tensor in encoded.items() if name != "token_type_ids"}
    with torch.inference_mode():
        logits = model.model(**encoded).logits.float().cpu()
    if model.problem_type == REGRESSION:
        mean, std = model.target_scale or (0.0, 1.0)
        return [[{"label": model.labels[0], "score": float(raw) * std + mean}] for raw in logits[:, 0].tolist()]
    multi = model.problem_type == MULTI_LABEL
    probabilities = torch.sigmoid(logits) if multi else torch.softmax(logits, dim=-1)
    default_k = len(model.labels) if multi else 1  # the pipeline's top_k=None gives every label
    k = min(data.top_k or default_k, len(model.labels))
    scores, indices = probabilities.topk(k, dim=-1)
    answers = []
    for row_scores, row_indices in zip(scores.tolist(), indices.tolist(), strict=True):
        row: list[dict[str, Any]] = [
            {"label": model.labels[i], "score": s} for s, i in zip(row_scores, row_indices, strict=True)
        ]
        if multi:
            for item in row:
                item["predicted"] = item["score"] >= model.threshold
        answers.append(row)
    return answers


class _Piece(NamedTuple):
    """A token (or, under ``first``, a word) with its best tag: the pipeline's pre-entity."""

    tag: str
    score: float
    word: str
    start: int
    end: int
    is_subword: bool


def _entities(texts: tuple[str, ...], model: LoadedModel, strategy: str) -> list[list[dict[str, Any]]]:
    """The ``token-classification`` pipeline's answer with ``aggregation_strategy`` ``simple`` or ``first``.

    Written out rather than calling ``transformers.pipeline``: the pipeline truncates at the
    tokenizer's ``model_max_length`` (not the length the model was trained with) and runs one
    text per forward pass. The rules are the pipeline's (``gather_pre_entities``,
    ``aggregate_words``, ``group_entities``, ``group_sub_entities``, the same in transformers
    4.51 to 5.x): each non-special token takes its softmax-best tag (``first``: each word takes
    its first sub-token's, which is the sub-token the training package labels); consecutive
    pieces of one type join unless a piece's tag starts with ``B-``; a group's score is the mean
    of its pieces', its word the tokenizer's rendering of its pieces, its span from the first
    piece's start to the last one's end; groups tagged ``O`` are dropped. tests/deploy compares
    both strategies with the pipeline.
    """
    import torch

    tokenizer = model.tokenizer
    encoded = tokenizer(
        list(texts),
        truncation=True,
        max_length=model.max_length,
        padding=True,
        return_tensors="pt",
        return_offsets_mapping=True,
        return_special_tokens_mask=True,
    )
    offsets = encoded.pop("offset_mapping").tolist()
    special = encoded.pop("special_tokens_mask").tolist()
    inputs = {name: tensor.to(model.device) for name, tensor in encoded.items() if name != "token_type_ids"}
    with torch.inference_mode():
        probabilities = torch.softmax(model.model(**inputs).logits.float(), dim=-1).cpu()
    best_scores, best_tags = probabilities.max(dim=-1)
    ids, mask = encoded["input_ids"].tolist(), encoded["attention_mask"].tolist()
    prefix = getattr(getattr(getattr(tokenizer, "_tokenizer", None), "model", None), "continuing_subword_prefix", None)
    answers = []
    for row, text in enumerate(texts):
        pieces = []
        for token_id, tag, score, (start, end), is_special, attended in zip(
            ids[row],
            best_tags[row].tolist(),
            best_scores[row].tolist(),
            offsets[row],
            special[row],
            mask[row],
            strict=True,
        ):
            if not attended or is_special:
                continue
            word, reference = tokenizer.convert_ids_to_tokens(token_id), text[start:end]
            # the pipeline's test: a word-aware tokenizer marks continuations (WordPiece's "##"); else no space before
            is_subword = len(word) != len(reference) if prefix else start > 0 and " " not in text[start - 1 : start + 1]
            if token_id == tokenizer.unk_token_id:
                word, is_subword = reference, False
            pieces.append(_Piece(model.labels[tag], score, word, start, end, is_subword))
        if strategy == "first":
            pieces = _first_of_each_word(pieces, tokenizer)
        groups: list[list[_Piece]] = []
        for piece in pieces:
            position, kind = _bio(piece.tag)
            if groups and position != "B" and kind == _bio(groups[-1][-1].tag)[1]:
                groups[-1].append(piece)
            else:
                groups.append([piece])
        answers.append([_entity(group, tokenizer) for group in groups if _bio(group[0].tag)[1] not in IGNORED_TAGS])
    return answers


def _first_of_each_word(pieces: list[_Piece], tokenizer: Any) -> list[_Piece]:
    """One piece per word (a token and the sub-tokens after it): the first sub-token's tag and score."""
    words: list[list[_Piece]] = []
    for piece in pieces:
        if words and piece.is_subword:
            words[-1].append(piece)
        else:
            words.append([piece])
    return [
        _Piece(
            w[0].tag, w[0].score, tokenizer.convert_tokens_to_string([p.word for p in w]), w[0].start, w[-1].end, False
        )
        for w in words
    ]


def _bio(tag: str) -> tuple[str, str]:
    """``("B" | "I", type)``; a tag without a ``B-``/``I-`` prefix continues (the pipeline's ``get_tag``)."""
    if tag.startswith(("B-", "I-")):
        return tag[0], tag[2:]
    return "I", tag


def _entity(group: list[_Piece], tokenizer: Any) -> dict[str, Any]:
    return {
        "entity_group": _bio(group[0].tag)[1],
        "score": sum(piece.score for piece in group) / len(group),
        "word": tokenizer.convert_tokens_to_string([piece.word for piece in group]),
        "start": group[0].start,
        "end": group[-1].end,
    }


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
