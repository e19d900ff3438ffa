"""Every bad input is a DataError with a message that says what and where, raised before any write."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from hf_sagemaker_tuning.data import prepare_dataset
from hf_sagemaker_tuning.errors import DataError, TuningError
from hf_sagemaker_tuning.specs import DatasetSpec

from .conftest import tweets, write_jsonl


def _fails(spec: DatasetSpec, tokenizer: str, out: Path, match: str) -> DataError:
    with pytest.raises(DataError, match=match) as caught:
        prepare_dataset(spec, tokenizer=tokenizer, output=out)
    assert not out.exists()  # nothing written
    assert isinstance(caught.value, TuningError) and isinstance(caught.value, ValueError)
    return caught.value


def test_missing_file(tmp_path: Path, tokenizer: str) -> None:
    _fails(DatasetSpec(source=str(tmp_path / "nope.csv")), tokenizer, tmp_path / "out", r"not found: .*nope\.csv")


def test_missing_data_file(small_folder: Path, tokenizer: str, tmp_path: Path) -> None:
    spec = DatasetSpec(source=str(small_folder), data_files={"train": "gone.jsonl"}, splits={"train": "train"})
    _fails(spec, tokenizer, tmp_path / "out", r"data file for split 'train' not found: 'gone\.jsonl'")


def test_unknown_column_lists_the_columns(small_folder: Path, tokenizer: str, tmp_path: Path) -> None:
    spec = DatasetSpec(source=str(small_folder), text_column="tweet")
    _fails(spec, tokenizer, tmp_path / "out", r"train\.jsonl has no column 'tweet'; its columns are: text, label")


def test_unknown_split_lists_the_splits(small_folder: Path, tokenizer: str, tmp_path: Path) -> None:
    spec = DatasetSpec(source=str(small_folder), splits={"train": "training"})
    _fails(spec, tokenizer, tmp_path / "out", r"no split 'training'.*it has: test, train, validation")


def test_missing_train_with_default_mapping(tweeteval: Path, tokenizer: str, tmp_path: Path) -> None:
    spec = DatasetSpec(source=str(tweeteval / "sentiment"))
    _fails(spec, tokenizer, tmp_path / "out", r"no split 'train' .*it has: test, validation")


def test_empty_split(small_folder: Path, tokenizer: str, tmp_path: Path) -> None:
    (small_folder / "validation.jsonl").write_text("\n")
    _fails(DatasetSpec(source=str(small_folder)), tokenizer, tmp_path / "out", r"split 'validation' .* is empty")


def test_split_empty_after_cleaning(small_folder: Path, tokenizer: str, tmp_path: Path) -> None:
    write_jsonl(small_folder / "validation.jsonl", [{"text": "  ", "label": "neg"}, {"text": None, "label": "pos"}])
    _fails(
        DatasetSpec(source=str(small_folder)),
        tokenizer,
        tmp_path / "out",
        r"split 'validation' .* no rows left after cleaning \(2 empty",
    )


def test_a_test_split_of_empty_texts_is_an_error_though_kept(
    small_folder: Path, tokenizer: str, tmp_path: Path
) -> None:
    write_jsonl(small_folder / "test.jsonl", [{"text": "  ", "label": "neg"}, {"text": None, "label": "pos"}])
    _fails(
        DatasetSpec(source=str(small_folder)), tokenizer, tmp_path / "out", r"split 'test' .* only empty texts \(2 rows"
    )


def test_single_class(small_folder: Path, tokenizer: str, tmp_path: Path) -> None:
    write_jsonl(small_folder / "train.jsonl", tweets(20, labels=("pos",)))
    _fails(DatasetSpec(source=str(small_folder)), tokenizer, tmp_path / "out", r"single class \('pos'\)")


def test_string_label_outside_the_names(small_folder: Path, tokenizer: str, tmp_path: Path) -> None:
    rows = [*tweets(10), {"text": "odd one", "label": "meh"}]
    write_jsonl(small_folder / "train.jsonl", rows)
    spec = DatasetSpec(source=str(small_folder), label_names=["neg", "pos"])
    _fails(
        spec,
        tokenizer,
        tmp_path / "out",
        r"row 11 \(line 11\): label 'meh' is outside the label names; "
        r"allowed: class ids 0\.\.1 or the names neg, pos",
    )


def test_int_label_outside_range(tmp_path: Path, tokenizer: str) -> None:
    folder = tmp_path / "src"
    write_jsonl(folder / "train.jsonl", [*tweets(10, labels=(0, 1)), {"text": "x", "label": 3}])
    (folder / "labels.json").write_text(json.dumps(["a", "b"]))
    _fails(DatasetSpec(source=str(folder)), tokenizer, tmp_path / "out", r"row 11 .*label 3 is outside")


def test_int_labels_without_names(tmp_path: Path, tokenizer: str) -> None:
    source = write_jsonl(tmp_path / "train.jsonl", tweets(10, labels=(0, 1)))
    _fails(DatasetSpec(source=str(source)), tokenizer, tmp_path / "out", r"no label names are known; set label_names")


def test_non_text_value_names_the_row(small_folder: Path, tokenizer: str, tmp_path: Path) -> None:
    write_jsonl(small_folder / "train.jsonl", [*tweets(4), {"text": 12345, "label": "pos"}])
    _fails(
        DatasetSpec(source=str(small_folder)),
        tokenizer,
        tmp_path / "out",
        r"split 'train' \(.*train\.jsonl\) row 5 \(line 5\): text column 'text' holds 12345 \(int\), not text",
    )


def test_none_text_is_an_error_without_drop_empty(small_folder: Path, tokenizer: str, tmp_path: Path) -> None:
    write_jsonl(small_folder / "train.jsonl", [*tweets(4), {"text": None, "label": "pos"}])
    spec = DatasetSpec(source=str(small_folder), cleaning={"drop_empty": False})
    _fails(spec, tokenizer, tmp_path / "out", r"row 5 .*is missing \(null\); set cleaning\.drop_empty")


def test_broken_json_line_has_its_line_number(small_folder: Path, tokenizer: str, tmp_path: Path) -> None:
    lines = (small_folder / "train.jsonl").read_text().splitlines()
    lines[6] = '{"text": "cut off", "label'
    (small_folder / "train.jsonl").write_text("\n".join(lines) + "\n")
    _fails(
        DatasetSpec(source=str(small_folder)), tokenizer, tmp_path / "out", r"train\.jsonl: line 7 is not valid JSON"
    )


def test_broken_csv_row_has_its_line_number(tmp_path: Path, tokenizer: str) -> None:
    path = tmp_path / "d.csv"
    path.write_text("text,label\nhello,pos\nbye,neg,extra\n")
    _fails(DatasetSpec(source=str(path)), tokenizer, tmp_path / "out", r"d\.csv: line 3 has 3 fields, the header has 2")


def test_wrong_encoding_names_the_line(tmp_path: Path, tokenizer: str) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes("text,label\nhello,pos\ncaf\xe9,neg\n".encode("latin-1"))
    _fails(DatasetSpec(source=str(path)), tokenizer, tmp_path / "out", r"line 3 is not valid utf-8 text.*latin-1")


def test_unknown_package(tmp_path: Path, tokenizer: str) -> None:
    spec = DatasetSpec(source="package://no_such_pkg_xyz/data.csv")
    _fails(spec, tokenizer, tmp_path / "out", r"no installed package or module named 'no_such_pkg_xyz'")


def test_missing_file_in_package(tmp_path: Path, tokenizer: str) -> None:
    spec = DatasetSpec(source="package://pytest/no/such.csv")
    _fails(spec, tokenizer, tmp_path / "out", r"'no/such\.csv' not found inside package 'pytest'")


def test_unreachable_hub_offline_is_fast(tmp_path: Path, tokenizer: str) -> None:
    import datasets  # noqa: F401 - imported before the clock starts: the bound is on waiting, not on imports

    start = time.monotonic()
    error = _fails(
        DatasetSpec(source="tweet_eval", config="sentiment"),
        tokenizer,
        tmp_path / "out",
        r"cannot load hub dataset 'tweet_eval' \(config 'sentiment'\)",
    )
    assert "HF_HUB_OFFLINE is set" in str(error) and "local path" in str(error)
    assert time.monotonic() - start < 10


def test_unreachable_hub_online_fails_within_seconds(
    tmp_path: Path, tokenizer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("HF_DATASETS_OFFLINE")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # the discard port: nothing listens
    start = time.monotonic()
    _fails(
        DatasetSpec(source="tweet_eval", config="sentiment"),
        tokenizer,
        tmp_path / "out",
        r"the hub is unreachable .*point `source` at a local path",
    )
    assert time.monotonic() - start < 10


def test_missing_tokenizer(small_folder: Path, tmp_path: Path) -> None:
    _fails(
        DatasetSpec(source=str(small_folder)),
        str(tmp_path / "no-model"),
        tmp_path / "out",
        r"cannot load tokenizer .*no-model",
    )


def test_max_length_beyond_the_tokenizer(small_folder: Path, tokenizer: str, tmp_path: Path) -> None:
    _fails(
        DatasetSpec(source=str(small_folder), max_length=1024),
        tokenizer,
        tmp_path / "out",
        r"max_length 1024 is longer than the 512 tokens",
    )


def test_output_is_a_file(small_folder: Path, tokenizer: str, tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("keep me")
    with pytest.raises(DataError, match=r"output .*file\.txt' is a file"):
        prepare_dataset(DatasetSpec(source=str(small_folder)), tokenizer=tokenizer, output=target)
    assert target.read_text() == "keep me"
