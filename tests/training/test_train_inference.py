"""The inference handler (code/inference.py) called as the Hugging Face inference toolkit calls it."""

from __future__ import annotations

import importlib.util
import json
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Runner = Callable[..., tuple[int, Path]]


@pytest.fixture(scope="module")
def model_dir(
    train_entry: types.ModuleType, channels: dict[str, Path], tiny_model: Path, tmp_path_factory: Any
) -> Path:
    from tests.training.conftest import container_env

    base = tmp_path_factory.mktemp("served")
    argv = ["--model_name_or_path", str(tiny_model), "--max_steps", "2", "--per_device_train_batch_size", "16"]
    assert train_entry.main(argv, container_env(base, channels)) == 0
    return base / "model"


@pytest.fixture(scope="module")
def handler(model_dir: Path) -> types.ModuleType:
    """The copy shipped in the model artifact, imported from there as the toolkit does."""
    spec = importlib.util.spec_from_file_location("hfst_served_inference", model_dir / "code" / "inference.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module while the file executes
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def loaded(handler: types.ModuleType, model_dir: Path) -> Any:
    return handler.model_fn(str(model_dir))


def _ask(handler: types.ModuleType, loaded: Any, body: Any, content_type: str = "application/json") -> Any:
    raw = body if isinstance(body, (str, bytes)) else json.dumps(body)
    request = handler.input_fn(raw, content_type)
    return json.loads(handler.output_fn(handler.predict_fn(request, loaded), "application/json"))


def test_one_string_gets_one_readable_label(handler: types.ModuleType, loaded: Any, emotion_names: list[str]) -> None:
    answer = _ask(handler, loaded, {"inputs": "Best thing ever!"})
    assert len(answer) == 1
    assert answer[0]["label"] in emotion_names
    assert not answer[0]["label"].startswith("LABEL_")
    assert 0.0 < answer[0]["score"] <= 1.0


def test_top_k_returns_the_k_best_sorted(handler: types.ModuleType, loaded: Any, emotion_names: list[str]) -> None:
    answer = _ask(handler, loaded, {"inputs": "Best thing ever!", "parameters": {"top_k": 3}})
    scores = [item["score"] for item in answer]
    assert len(answer) == 3
    assert scores == sorted(scores, reverse=True)
    everything = _ask(handler, loaded, {"inputs": "Best thing ever!", "parameters": {"top_k": 10}})
    assert sorted(item["label"] for item in everything) == sorted(emotion_names)
    assert sum(item["score"] for item in everything) == pytest.approx(1.0, abs=1e-5)
    assert everything[0] == _ask(handler, loaded, {"inputs": "Best thing ever!"})[0]


def test_a_list_gets_a_list_of_answers(handler: types.ModuleType, loaded: Any) -> None:
    texts = ["Best thing ever!", "I am so angry right now", "meh"]
    answer = _ask(handler, loaded, {"inputs": texts, "parameters": {"top_k": 2}})
    assert len(answer) == 3
    assert all(len(item) == 2 for item in answer)
    assert answer[0] == _ask(handler, loaded, {"inputs": texts[0], "parameters": {"top_k": 2}})


def test_bytes_and_charset_are_accepted(handler: types.ModuleType, loaded: Any) -> None:
    body = json.dumps({"inputs": "Best thing ever!"}).encode()
    assert len(_ask(handler, loaded, body, "application/json; charset=utf-8")) == 1


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        ("not json", "application/json", "not valid JSON"),
        (b"\xff\xfe", "application/json", "not valid JSON"),
        ({"inputs": "hi"}, "text/csv", "content type 'text/csv' is not supported"),
        (["hi"], "application/json", "must be a JSON object"),
        ({"text": "hi"}, "application/json", "unknown request fields ['text']"),
        ({"parameters": {}}, "application/json", 'has no "inputs"'),
        ({"inputs": 3}, "application/json", "must be a string or a list of strings, not int"),
        ({"inputs": ["ok", 3]}, "application/json", '"inputs"[1] must be a string'),
        ({"inputs": ""}, "application/json", "is an empty string"),
        ({"inputs": "   "}, "application/json", "is an empty string"),
        ({"inputs": []}, "application/json", "is an empty list"),
        ({"inputs": ["x"] * 65}, "application/json", "has 65 texts; at most 64"),
        ({"inputs": "x" * 20_001}, "application/json", "has 20001 characters; at most 20000"),
        ({"inputs": "hi", "parameters": {"top_k": 0}}, "application/json", "positive integer"),
        ({"inputs": "hi", "parameters": {"top_k": True}}, "application/json", "positive integer"),
        ({"inputs": "hi", "parameters": {"top_k": "2"}}, "application/json", "positive integer"),
        ({"inputs": "hi", "parameters": {"temperature": 2}}, "application/json", "unknown parameters ['temperature']"),
        ({"inputs": "hi", "parameters": [1]}, "application/json", '"parameters" must be a JSON object'),
    ],
)
def test_malformed_requests_raise_a_value_error_with_a_message(
    handler: types.ModuleType, body: Any, content_type: str, message: str
) -> None:
    raw = body if isinstance(body, (str, bytes)) else json.dumps(body)
    with pytest.raises(handler.InvalidRequestError, match=message.replace("[", r"\[").replace("]", r"\]")) as caught:
        handler.input_fn(raw, content_type)
    assert isinstance(caught.value, ValueError)


def test_limits_are_inclusive(handler: types.ModuleType, loaded: Any) -> None:
    assert len(_ask(handler, loaded, {"inputs": ["x"] * 64})) == 64
    assert len(_ask(handler, loaded, {"inputs": "y" * 20_000})) == 1


def test_non_json_accept_type_is_refused(handler: types.ModuleType) -> None:
    with pytest.raises(handler.UnsupportedMediaTypeError, match="accept type 'text/csv'"):
        handler.output_fn([], "text/csv")
    assert handler.output_fn([], "*/*") == "[]"


def test_model_without_safetensors_is_not_loaded(handler: types.ModuleType, model_dir: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    (copy / "model.safetensors").unlink()
    with pytest.raises(OSError, match=r"model\.safetensors"):
        handler.model_fn(str(copy))


@pytest.mark.parametrize(
    "accept",
    [
        None,
        "",
        "application/json",
        "application/json, text/plain",
        "text/plain, application/json;q=0.5",
        "application/*",
        "*/*",
        "*/*;q=0.1",
        "application/json; charset=utf-8",
    ],
)
def test_accept_lists_and_wildcards_that_include_json_are_answered(handler: types.ModuleType, accept: Any) -> None:
    assert handler.output_fn([{"label": "joy", "score": 1.0}], accept) == '[{"label": "joy", "score": 1.0}]'


@pytest.mark.parametrize("accept", ["text/html", "text/csv, text/plain", "application/json;q=0, */*", "*/*;q=0"])
def test_accept_without_json_is_refused(handler: types.ModuleType, accept: str) -> None:
    with pytest.raises(handler.UnsupportedMediaTypeError, match="accept type"):
        handler.output_fn([], accept)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"inputs": ' + "[" * 50_000 + "]" * 50_000 + "}", "nested too deeply"),
        ('{"inputs": "\\ud800"}', "invalid Unicode"),
        ('{"inputs": ["fine", "\\udfff"]}', r'"inputs"\[1\] holds invalid Unicode'),
    ],
    ids=["deep-list", "deep-inputs", "lone-surrogate", "lone-surrogate-in-list"],
)
def test_hostile_bodies_are_invalid_requests(handler: types.ModuleType, body: str, message: str) -> None:
    with pytest.raises(handler.InvalidRequestError, match=message):
        handler.input_fn(body, "application/json")


def test_texts_are_truncated_at_the_length_recorded_at_training_time(
    handler: types.ModuleType, loaded: Any, model_dir: Path, tmp_path: Path
) -> None:
    import shutil

    recorded = json.loads((model_dir / "code" / "serving.json").read_text())["max_length"]
    assert isinstance(recorded, int)
    assert 0 < recorded < 512
    assert loaded.max_length == recorded
    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    (copy / "code" / "serving.json").unlink()
    unrecorded = handler.model_fn(str(copy))
    assert unrecorded.max_length == min(
        512, loaded.model.config.max_position_embeddings, loaded.tokenizer.model_max_length
    )
    (copy / "code" / "serving.json").write_text('{"max_length": "long"}')
    assert handler.model_fn(str(copy)).max_length == unrecorded.max_length
    # Both texts are longer than max_length tokens, so the model sees the same first max_length tokens.
    top = {"top_k": 3}
    assert _ask(handler, loaded, {"inputs": "Best thing ever! " * recorded, "parameters": top}) == _ask(
        handler, loaded, {"inputs": "Best thing ever! " * 1_000, "parameters": top}
    )
