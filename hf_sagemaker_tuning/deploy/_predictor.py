"""``Predictor``: send texts to an endpoint (local or SageMaker), get plain lists of dicts.

The answers have the shape of the Hugging Face pipeline for the model's problem type:
``{"label", "score"}`` (single-label; regression, the score being the value), the same with
``"predicted"`` (multi-label), or ``{"entity_group", "score", "word", "start", "end"}`` (token
classification).
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeGuard, overload

from ._errors import DeployError, PredictError
from ._registry import EndpointRecord
from ._registry import load as load_record

if TYPE_CHECKING:  # pragma: no cover
    from ..backends.base import ModelArtifact

MAX_REQUEST_BYTES = 6 * 1024 * 1024
JSON_TYPE = "application/json"
Label = dict[str, Any]


def encode_request(inputs: str | Sequence[str] | Mapping[str, Any], top_k: int | None = None) -> bytes:
    """The request body: ``{"inputs": ..., "parameters": {"top_k": k}}`` (checked client-side).

    ``inputs`` is one text, a list of texts, or the SageMaker Hugging Face payload itself,
    ``{"inputs": ..., "parameters": {...}}``. Its ``parameters`` are sent as given: the endpoint
    answers 400 for one its handler does not support.
    """
    texts, parameters = unpack(inputs)
    if top_k is not None:
        if "top_k" in parameters and parameters["top_k"] != top_k:
            raise DeployError(f"top_k={top_k!r} and parameters.top_k={parameters['top_k']!r} disagree; give one")
        parameters["top_k"] = top_k
    if "top_k" in parameters:
        k = parameters["top_k"]
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise DeployError(f"top_k must be a positive integer, not {k!r}")
    payload: dict[str, Any] = {"inputs": texts}
    if parameters:
        payload["parameters"] = parameters
    body = json.dumps(payload).encode("utf-8")
    if len(body) > MAX_REQUEST_BYTES:
        raise DeployError(f"the request has {len(body)} bytes; endpoints accept at most {MAX_REQUEST_BYTES}")
    return body


#: One text pair, as the text-classification pipeline takes it (for models trained on pairs).
TextPair = dict[str, str]
Inputs = str | TextPair | list[str] | list[TextPair]


def _is_pair(item: object) -> TypeGuard[Mapping[str, str]]:
    return (
        isinstance(item, Mapping)
        and set(item) == {"text", "text_pair"}
        and all(isinstance(value, str) for value in item.values())
    )


def unpack(inputs: str | Sequence[str] | Mapping[str, Any]) -> tuple[Inputs, dict[str, Any]]:
    """The texts and the parameters of a request: a text, a list of texts, a text pair
    (``{"text": ..., "text_pair": ...}``), a list of pairs, or ``{"inputs", "parameters"}``."""
    parameters: dict[str, Any] = {}
    if _is_pair(inputs):
        return {"text": inputs["text"], "text_pair": inputs["text_pair"]}, parameters
    if isinstance(inputs, Mapping):
        extra = sorted(set(inputs) - {"inputs", "parameters"}, key=str)
        if extra:
            raise DeployError(f"unknown request fields {extra}; allowed: inputs, parameters")
        if "inputs" not in inputs:
            raise DeployError('the request has no "inputs" (a string or a list of strings)')
        given = inputs.get("parameters")
        if given is not None and not isinstance(given, Mapping):
            raise DeployError(f'"parameters" must be a mapping like {{"top_k": 2}}, not {type(given).__name__}')
        parameters = dict(given or {})
        inputs = inputs["inputs"]
    if isinstance(inputs, str):
        return inputs, parameters
    if _is_pair(inputs):
        return {"text": inputs["text"], "text_pair": inputs["text_pair"]}, parameters
    if isinstance(inputs, Sequence) and inputs and all(_is_pair(item) for item in inputs):
        pairs = [item for item in inputs if _is_pair(item)]  # every item (checked above): typed as pairs
        return [{"text": item["text"], "text_pair": item["text_pair"]} for item in pairs], parameters
    if isinstance(inputs, Sequence) and all(isinstance(item, str) for item in inputs):
        if not inputs:
            raise DeployError("inputs is an empty list; pass at least one text")
        return list(inputs), parameters
    raise DeployError(
        f'inputs must be a string, a {{"text", "text_pair"}} pair or a list of either kind, not {type(inputs).__name__}'
    )


def _labels(value: Any, where: str) -> list[Label]:
    """One text's answer: labels (``{"label", "score"}``, with ``"predicted"`` for multi-label) or entities."""
    if not isinstance(value, list):
        raise DeployError(f"unexpected response from the endpoint: {where} is not a list of labels")
    return [_item(item, where) for item in value]


def _item(item: Any, where: str) -> Label:
    expected = '{"label", "score"} or {"entity_group", "score", "word", "start", "end"}'
    if not isinstance(item, dict):
        raise DeployError(f"unexpected response from the endpoint: {where} holds {item!r}, not {expected}")
    score = item.get("score")
    if isinstance(score, bool) or not isinstance(score, (int, float)):
        raise DeployError(f"unexpected response from the endpoint: {where} holds {item!r}, not {expected}")
    if not math.isfinite(score):
        raise DeployError(f"unexpected response from the endpoint: score {score!r} in {where}")
    if "entity_group" in item:  # the token-classification pipeline's aggregated entity
        group, word, start, end = (item.get(key) for key in ("entity_group", "word", "start", "end"))
        spans = [v for v in (start, end) if isinstance(v, int) and not isinstance(v, bool) and v >= 0]
        if not isinstance(group, str) or not isinstance(word, str) or len(spans) != 2:
            raise DeployError(f"unexpected response from the endpoint: {where} holds {item!r}, not {expected}")
        return {"entity_group": group, "score": float(score), "word": word, "start": spans[0], "end": spans[1]}
    label = item.get("label")
    if not isinstance(label, str):
        raise DeployError(f"unexpected response from the endpoint: {where} holds {item!r}, not {expected}")
    out: Label = {"label": label, "score": float(score)}
    if "predicted" in item:  # multi-label: the label is over the model's threshold
        if not isinstance(item["predicted"], bool):
            raise DeployError(f"unexpected response from the endpoint: {where} holds {item!r}: predicted is no bool")
        out["predicted"] = item["predicted"]
    return out


def parse_response(raw: bytes | str, inputs: Inputs) -> list[Label] | list[list[Label]]:
    """Check and normalise a response: a list of labels (or entities) for one text, a list of such lists for several.

    A flat list with one label per text (the inference toolkit's default pipeline answers
    batches so) is accepted for a batch and returned as one-label lists.
    """
    try:
        data = json.loads(raw)
    except ValueError:
        raise DeployError(f"the endpoint answered with something that is not JSON: {str(raw)[:200]!r}") from None
    if isinstance(inputs, (str, dict)):  # one text or one pair
        return _labels(data, "the response")
    if not isinstance(data, list) or len(data) != len(inputs):
        raise DeployError(f"unexpected response from the endpoint: expected {len(inputs)} answers, one per text")
    if all(isinstance(row, dict) for row in data):
        return [_labels([row], f"answer {index}") for index, row in enumerate(data)]
    return [_labels(row, f"answer {index}") for index, row in enumerate(data)]


class Predictor(ABC):
    """Calls one endpoint. ``predict("text")`` -> ``[{"label": "positive", "score": 0.98}]``.

    Multi-label models add ``"predicted"`` to each label, regression models answer one
    ``{"label", "score"}`` whose score is the value, token classifiers answer entities
    (``{"entity_group", "score", "word", "start", "end"}``).
    """

    name: str
    #: The model behind the endpoint, when known (``TuningJob.deploy`` sets it: retrain or trial, and which).
    model: ModelArtifact | None = None
    #: The registry kind (``EndpointRecord.kind``) a subclass calls; set by each concrete predictor.
    kind: ClassVar[str] = ""
    #: Concrete predictors by kind, filled in as they are defined (so this module imports none of them).
    _by_kind: ClassVar[dict[str, type[Predictor]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            Predictor._by_kind[cls.kind] = cls

    @overload
    def predict(self, inputs: str, top_k: int | None = None) -> list[Label]: ...

    @overload
    def predict(self, inputs: list[str] | tuple[str, ...], top_k: int | None = None) -> list[list[Label]]: ...

    @overload
    def predict(self, inputs: Mapping[str, Any], top_k: int | None = None) -> list[Label] | list[list[Label]]: ...

    def predict(
        self, inputs: str | Sequence[str] | Mapping[str, Any], top_k: int | None = None
    ) -> list[Label] | list[list[Label]]:
        """Labels and scores, best first (or entities): a list for one text, a list of lists for a list of texts.

        Args:
            inputs: one text, a list of texts (at most 64 per request with the bundled handler), or
                the SageMaker Hugging Face payload ``{"inputs": ..., "parameters": {"top_k": 2}}``.
            top_k: how many labels per text (default: the handler's: 1, every label for multi-label;
                refused by regression and token-classification models).

        Raises:
            PredictError: the endpoint refused the request (4xx, e.g. a parameter its handler does
                not support) or the model failed (5xx).
            DeployError: the endpoint cannot be reached or answered something unexpected.
        """
        body = encode_request(inputs, top_k)
        return parse_response(self._invoke(body), unpack(inputs)[0])

    @abstractmethod
    def _invoke(self, body: bytes) -> bytes:
        """Send one JSON request body; return the response body."""

    @classmethod
    def for_endpoint(cls, name: str) -> Predictor:
        """The predictor for a registered endpoint (``hfst endpoints`` lists them), of either kind."""
        record = load_record(name)
        predictor = Predictor._by_kind.get(record.kind)
        if predictor is None:  # pragma: no cover - the registry accepts only the kinds defined in this package
            raise DeployError(f"no predictor for endpoint kind {record.kind!r}")
        return predictor.from_record(record)

    @classmethod
    @abstractmethod
    def from_record(cls, record: EndpointRecord) -> Predictor:
        """The predictor for one registry entry of this class's ``kind``."""


class LocalPredictor(Predictor):
    """Calls a local endpoint's ``POST /invocations`` over HTTP (standard library only)."""

    kind = "local"

    @classmethod
    def from_record(cls, record: EndpointRecord) -> Predictor:
        if record.url is None:
            raise DeployError(f"the registry entry for {record.name!r} has no address; undeploy it and deploy again")
        return cls(record.url, name=record.name)

    def __init__(self, url: str, name: str | None = None, timeout: float = 60.0):
        self.url = url.rstrip("/")
        self.name = name or self.url
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"LocalPredictor({self.url!r}, name={self.name!r})"

    def _invoke(self, body: bytes) -> bytes:
        request = urllib.request.Request(
            f"{self.url}/invocations",
            data=body,
            method="POST",
            headers={"Content-Type": JSON_TYPE, "Accept": JSON_TYPE},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                data: bytes = response.read()
                return data
        except urllib.error.HTTPError as exc:
            raise PredictError(f"{self.name}: HTTP {exc.code}: {_error_message(exc.read())}", exc.code) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DeployError(f"cannot reach endpoint {self.name} at {self.url}: {reason}") from None


def _error_message(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")[:500]
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return str(data["error"])
    return json.dumps(data)[:500]
