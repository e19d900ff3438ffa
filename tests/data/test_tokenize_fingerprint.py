"""``prepare`` names each tokenized split without pickling the tokenizer (datasets' default fingerprint).

Pickling a tokenizer for every split's fingerprint was most of a small ``prepare`` (0.5 s per split for
MiniLM's 30k-token vocabulary; more for larger ones). The fingerprint that replaces it must still name
the result: the same inputs give the same one, anything that changes the tokens gives another.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hf_sagemaker_tuning.data import prepare_dataset
from hf_sagemaker_tuning.data._tokenize import load_tokenizer, map_fingerprint
from hf_sagemaker_tuning.specs import DatasetSpec

from ..conftest import SHARED_DATA

WNUT17 = SHARED_DATA.parent / "ner" / "wnut17"


@pytest.mark.parametrize("kind", ["texts", "words"])
def test_prepare_never_pickles_the_tokenizer(
    kind: str, small_folder: Path, tokenizer: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import transformers
    from datasets.utils import _dill

    pickled: list[str] = []
    real_save = _dill.Pickler.save

    def save(self: Any, obj: Any, save_persistent_id: bool = True) -> None:
        if isinstance(obj, transformers.PreTrainedTokenizerBase):
            pickled.append(type(obj).__name__)
        real_save(self, obj, save_persistent_id=save_persistent_id)

    monkeypatch.setattr(_dill.Pickler, "save", save)
    spec = DatasetSpec(source=str(small_folder))
    if kind == "words":  # token classification: pre-split words, tags aligned to the tokens
        if not WNUT17.is_dir():
            pytest.skip(f"shared data {WNUT17} is not here")
        spec = DatasetSpec(
            source=str(WNUT17),
            problem_type="token_classification",
            max_train_samples=20,
            max_eval_samples=5,
            max_test_samples=5,
        )
    manifest = prepare_dataset(spec, tokenizer=tokenizer, output=tmp_path / "out")
    assert set(manifest.channels) == {"train", "validation", "test"}
    assert pickled == []


def test_the_fingerprint_names_what_decides_the_tokens(tokenizer: str) -> None:
    import datasets

    loaded = load_tokenizer(tokenizer)
    split = datasets.Dataset.from_dict({"text": ["one tweet", "another tweet"], "label": [0, 1]})
    other_split = datasets.Dataset.from_dict({"text": ["one tweet", "a third tweet"], "label": [0, 1]})
    first = map_fingerprint(split, loaded, "text", 64, False)
    loaded(["a text long enough to be cut"], truncation=True, max_length=4)  # sets the Rust side's truncation
    assert map_fingerprint(split, loaded, "text", 64, False) == first  # calling the tokenizer changes nothing
    assert map_fingerprint(split, load_tokenizer(tokenizer), "text", 64, False) == first  # nor loading it again
    changed = [
        (other_split, "text", 64, False),
        (split, "text", 32, False),
        (split, "text", 64, True),
        (split, "words", 64),
    ]
    assert len({first, *(map_fingerprint(args[0], loaded, *args[1:]) for args in changed)}) == 5  # each changes it
    loaded.truncation_side = "left"
    assert map_fingerprint(split, loaded, "text", 64, False) != first
    loaded.truncation_side = "right"
    loaded.backend_tokenizer.normalizer = None  # another tokenizer definition
    assert map_fingerprint(split, loaded, "text", 64, False) != first
