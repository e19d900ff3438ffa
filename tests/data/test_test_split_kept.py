"""The test split keeps every row (empties and duplicates counted, not dropped) unless ``cleaning.clean_test``."""

from __future__ import annotations

from pathlib import Path

import pytest

from hf_sagemaker_tuning.data import prepare_dataset
from hf_sagemaker_tuning.specs import DatasetSpec

from .conftest import tweets, write_jsonl

pytestmark = pytest.mark.timeout(120)


def _source(tmp_path: Path) -> Path:
    folder = tmp_path / "src"
    write_jsonl(folder / "train.jsonl", [*tweets(20), {"text": "  ", "label": "neg"}, tweets(1)[0]])
    write_jsonl(folder / "validation.jsonl", tweets(6, prefix="val"))
    rows = tweets(6, prefix="test")
    again = {**rows[0], "text": f" {rows[0]['text']}"}  # a duplicate once white space is normalised
    write_jsonl(folder / "test.jsonl", [*rows, {"text": "   ", "label": "pos"}, {"text": None, "label": "neg"}, again])
    return folder


def test_test_rows_are_counted_not_dropped(tmp_path: Path, tokenizer: str) -> None:
    import datasets

    out = tmp_path / "out"
    result = prepare_dataset(DatasetSpec(source=str(_source(tmp_path))), tokenizer=tokenizer, output=out)
    assert result.splits["train"].rows == 20 and result.splits["train"].dropped == {"empty": 1, "duplicate": 1}
    test = result.splits["test"]
    assert test.rows == 9
    assert test.kept == {"empty": 2, "duplicate": 1} and test.dropped == {"empty": 0, "duplicate": 0}
    assert datasets.load_from_disk(str(out / "test"))["text"][6:8] == ["", ""]  # kept as the empty text


def test_clean_test_drops_them_when_asked(tmp_path: Path, tokenizer: str) -> None:
    spec = DatasetSpec(source=str(_source(tmp_path)), cleaning={"clean_test": True})
    result = prepare_dataset(spec, tokenizer=tokenizer, output=tmp_path / "out")
    test = result.splits["test"]
    assert test.rows == 6 and test.dropped == {"empty": 2, "duplicate": 1} and not test.kept
    assert result.kept_report == {}
