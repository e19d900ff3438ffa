"""Issue 14's data rules: val/dev/valid read as validation, unused splits named, id2label labels.json,
test kept whole unless its own cap says otherwise, and the task's official metric written with the channels."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from hf_sagemaker_tuning.data import load_manifest, prepare_dataset
from hf_sagemaker_tuning.errors import DataError, SpecError
from hf_sagemaker_tuning.specs import DatasetSpec

from .conftest import tweets, write_jsonl


@pytest.mark.parametrize("alias", ["val", "dev", "valid"])
def test_a_val_dev_or_valid_file_is_read_as_validation_and_the_summary_says_so(
    tmp_path: Path, tokenizer: str, alias: str
) -> None:
    folder = tmp_path / "src"
    write_jsonl(folder / "train.jsonl", tweets(30))
    write_jsonl(folder / f"{alias}.jsonl", tweets(8, prefix="held-out"))
    result = prepare_dataset(DatasetSpec(source=str(folder)), tokenizer=tokenizer, output=tmp_path / "out")
    assert result.splits["validation"].source_split == alias  # not carved from train
    assert result.splits["validation"].rows == 8
    assert result.splits["train"].rows == 30
    assert f"note: the source's split {alias!r} is read as validation" in result.summary()
    assert load_manifest(tmp_path / "out").notes == result.notes


def test_split_files_found_but_unused_are_named_in_a_warning(
    tmp_path: Path, tokenizer: str, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "src"
    write_jsonl(folder / "train.jsonl", tweets(30))
    write_jsonl(folder / "validation.jsonl", tweets(8, prefix="v"))
    write_jsonl(folder / "extra.jsonl", tweets(8, prefix="x"))
    with caplog.at_level(logging.WARNING, logger="hf_sagemaker_tuning.data"):
        result = prepare_dataset(DatasetSpec(source=str(folder)), tokenizer=tokenizer, output=tmp_path / "out")
    (warning,) = [w for w in result.warnings if "not used" in w]
    assert "extra.jsonl" in warning
    assert "extra.jsonl" in caplog.text
    assert "warning: " in result.summary()


def test_a_labels_json_in_id2label_form_is_accepted(tmp_path: Path, tokenizer: str) -> None:
    folder = tmp_path / "src"
    write_jsonl(folder / "train.jsonl", tweets(20, labels=(1, 0)))
    (folder / "labels.json").write_text(json.dumps({"1": "positive", "0": "negative"}))
    result = prepare_dataset(DatasetSpec(source=str(folder)), tokenizer=tokenizer, output=tmp_path / "out")
    assert result.label_names == ("negative", "positive")
    (folder / "labels.json").write_text(json.dumps({"0": "negative", "2": "positive"}))
    with pytest.raises(DataError, match=r"the ids must be 0..1"):
        prepare_dataset(DatasetSpec(source=str(folder)), tokenizer=tokenizer, output=tmp_path / "out2")


def test_max_eval_samples_leaves_test_whole_and_max_test_samples_caps_it(small_folder: Path, tokenizer: str) -> None:
    spec = DatasetSpec(source=str(small_folder), max_eval_samples=4)
    result = prepare_dataset(spec, tokenizer=tokenizer, output=small_folder.parent / "out")
    assert result.counts == {"train": 40, "validation": 4, "test": 10}
    capped = prepare_dataset(
        spec.model_copy(update={"max_test_samples": 6}), tokenizer=tokenizer, output=small_folder.parent / "out2"
    )
    assert capped.counts["test"] == 6
    assert capped.splits["test"].dropped["over_sample_cap"] == 4


def test_the_task_names_its_official_metric_in_the_manifest_and_every_channel(tmp_path: Path, tokenizer: str) -> None:
    folder = tmp_path / "src"
    write_jsonl(folder / "train.jsonl", tweets(30, labels=(0, 1)))
    write_jsonl(folder / "test.jsonl", tweets(10, labels=(0, 1), prefix="t"))
    (folder / "labels.json").write_text(json.dumps(["non_irony", "irony"]))
    spec = DatasetSpec(source=str(folder), task="tweet_eval/irony")
    result = prepare_dataset(spec, tokenizer=tokenizer, output=tmp_path / "out")
    assert result.task == "tweet_eval/irony"
    assert result.official_metric == {"name": "F1 of the irony class", "score": "f1", "classes": ["irony"]}
    assert "task: tweet_eval/irony (official metric: F1 of the irony class, eval_official)" in result.summary()
    for channel in ("train", "validation", "test"):
        written = json.loads((tmp_path / "out" / channel / "hfst_task.json").read_text())
        assert written == {"task": "tweet_eval/irony", "official_metric": result.official_metric}
    assert load_manifest(tmp_path / "out").official_metric == result.official_metric
    with pytest.raises(DataError, match=r"needs the classes \['against', 'favor'\]"):
        prepare_dataset(
            spec.model_copy(update={"task": "tweet_eval/stance_abortion"}), tokenizer=tokenizer, output=tmp_path / "x"
        )


def test_the_task_is_checked_by_the_spec_and_read_from_the_tweet_eval_config() -> None:
    with pytest.raises(SpecError, match="unknown task 'emotion'; tasks with an official metric: tweet_eval/sentiment"):
        DatasetSpec(source="./data", task="emotion")
    assert DatasetSpec(source="tweet_eval", config="sentiment").resolved_task == "tweet_eval/sentiment"
    assert DatasetSpec(source="cardiffnlp/tweet_eval", config="irony").resolved_task == "tweet_eval/irony"
    assert DatasetSpec(source="imdb").resolved_task is None
    assert DatasetSpec(source="./data").resolved_task is None
