"""Client side of the contract: request encoding and response parsing (no server needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hf_sagemaker_tuning.deploy import DeployError
from hf_sagemaker_tuning.deploy._predictor import MAX_REQUEST_BYTES, encode_request, parse_response
from hf_sagemaker_tuning.deploy._registry import EndpointRecord, check_name, load, name_from, save


def test_requests_follow_the_serving_contract() -> None:
    assert json.loads(encode_request("hi")) == {"inputs": "hi"}
    assert json.loads(encode_request(("a", "b"), top_k=2)) == {"inputs": ["a", "b"], "parameters": {"top_k": 2}}
    pair = {"text": "a", "text_pair": "b"}  # a model trained on text pairs (the text-classification pipeline's form)
    assert json.loads(encode_request(pair)) == {"inputs": pair}
    assert json.loads(encode_request([pair, pair])) == {"inputs": [pair, pair]}
    assert json.loads(encode_request({"inputs": pair, "parameters": {"top_k": 1}})) == {
        "inputs": pair,
        "parameters": {"top_k": 1},
    }
    one = [{"label": "similarity", "score": 3.5}]
    assert parse_response(json.dumps(one), pair) == one
    assert parse_response(json.dumps([one, one]), [pair, pair]) == [one, one]


@pytest.mark.parametrize(
    ("inputs", "top_k", "message"),
    [
        ([], None, "empty list"),
        (5, None, "a list of either kind"),
        (["a", 1], None, "a list of either kind"),
        ([{"text": "a", "text_pair": "b"}, "c"], None, "a list of either kind"),
        ({"inputs": {"text": "a", "pair": "b"}}, None, "a list of either kind"),
        ("a", 0, "top_k"),
        ("a", True, "top_k"),
        ("x" * (MAX_REQUEST_BYTES + 1), None, "at most"),
    ],
)
def test_bad_requests_fail_before_they_are_sent(inputs: object, top_k: object, message: str) -> None:
    with pytest.raises(DeployError, match=message):
        encode_request(inputs, top_k)  # type: ignore[arg-type]


def test_responses_are_parsed_into_plain_lists_of_dicts() -> None:
    one = [{"label": "positive", "score": 0.98}]
    assert parse_response(json.dumps(one), "text") == one
    assert parse_response(json.dumps([one, one]), ["a", "b"]) == [one, one]
    # The inference toolkit's default pipeline answers a batch with one flat label per text.
    flat = [{"label": "positive", "score": 1}, {"label": "negative", "score": 0.5}]
    assert parse_response(json.dumps(flat), ["a", "b"]) == [
        [{"label": "positive", "score": 1.0}],
        [{"label": "negative", "score": 0.5}],
    ]


def test_multi_label_regression_and_entity_answers_are_parsed() -> None:
    multi = [{"label": "joy", "score": 0.9, "predicted": True}, {"label": "anger", "score": 0.1, "predicted": False}]
    assert parse_response(json.dumps(multi), "text") == multi
    value = [{"label": "valence", "score": -3.25}]  # regression: the value, any real number
    assert parse_response(json.dumps([value, value]), ["a", "b"]) == [value, value]
    entity = {"entity_group": "person", "score": 0.8, "word": "jane doe", "start": 0, "end": 8}
    assert parse_response(json.dumps([entity]), "Jane Doe is here") == [entity]
    assert parse_response(json.dumps([[entity], []]), ["Jane Doe is here", "nothing"]) == [[entity], []]
    assert parse_response("[]", "nothing") == []


@pytest.mark.parametrize(
    ("raw", "inputs", "message"),
    [
        ("body", "a", "not JSON"),
        ('{"label": "x", "score": 1}', "a", "not a list"),
        ('[{"label": 2, "score": 1}]', "a", "not {"),
        ('[{"label": "x", "score": "high"}]', "a", "not {"),
        ('[{"label": "x", "score": NaN}]', "a", "score"),
        ('[[{"label": "x", "score": 1}]]', ["a", "b"], "expected 2 answers"),
        ('[{"label": "x", "score": 1, "predicted": "yes"}]', "a", "predicted is no bool"),
        ('[{"entity_group": "person", "score": 1, "word": "x", "start": -1, "end": 2}]', "a", "not {"),
        ('[{"entity_group": "person", "score": 1, "word": "x"}]', "a", "not {"),
    ],
)
def test_unexpected_responses_are_errors(raw: str, inputs: str | list[str], message: str) -> None:
    with pytest.raises(DeployError, match=message):
        parse_response(raw, inputs)


def test_registry_round_trip_and_names(state_dir: Path) -> None:
    record = EndpointRecord(
        name="ep-1", kind="sagemaker", model="s3://b/m.tar.gz", started_at="now", region="eu-west-1"
    )
    save(record)
    assert (state_dir / "ep-1.json").is_file()
    assert load("ep-1") == record
    assert record.url is None
    assert EndpointRecord("x", "local", "/m", "now", host="::1", port=9).url == "http://[::1]:9"
    assert name_from("trial_3/model!") == "trial-3-model"
    for bad in ("", "-a", "a_b", "a" * 64):
        with pytest.raises(DeployError, match="invalid endpoint name"):
            check_name(bad)


def test_placeholder_labels_and_loopback_are_recognised(tmp_path: Path) -> None:
    from hf_sagemaker_tuning.deploy._local import generic_labels, is_loopback

    (tmp_path / "config.json").write_text(json.dumps({"id2label": {"0": "LABEL_0", "1": "LABEL_1"}}))
    assert generic_labels(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"id2label": {"0": "negative", "1": "LABEL_1"}}))
    assert not generic_labels(tmp_path)
    assert is_loopback("127.0.0.1")
    assert is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("0.0.0.0")
    assert not is_loopback("192.168.1.10")


def test_the_sagemaker_hugging_face_payload_is_a_request_too() -> None:
    assert json.loads(encode_request({"inputs": "Best thing ever!"})) == {"inputs": "Best thing ever!"}
    both = encode_request({"inputs": ["a", "b"], "parameters": {"top_k": 2, "truncation": True}})
    assert json.loads(both) == {"inputs": ["a", "b"], "parameters": {"top_k": 2, "truncation": True}}
    assert json.loads(encode_request({"inputs": "a", "parameters": {"top_k": 2}}, top_k=2))["parameters"] == {
        "top_k": 2
    }


@pytest.mark.parametrize(
    ("payload", "top_k", "message"),
    [
        ({"text": "a"}, None, r"unknown request fields \['text'\]"),
        ({"parameters": {}}, None, 'no "inputs"'),
        ({"inputs": "a", "parameters": [1]}, None, '"parameters" must be a mapping'),
        ({"inputs": 5}, None, "a list of either kind"),
        ({"inputs": "a", "parameters": {"top_k": 0}}, None, "top_k must be a positive integer"),
        ({"inputs": "a", "parameters": {"top_k": 3}}, 2, "disagree"),
    ],
)
def test_bad_payloads_fail_before_they_are_sent(payload: dict[str, object], top_k: int | None, message: str) -> None:
    with pytest.raises(DeployError, match=message):
        encode_request(payload, top_k)
