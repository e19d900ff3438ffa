"""Prepare the real TweetEval data (emotion, sentiment) with the real MiniLM tokenizer."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from hf_sagemaker_tuning.data import PreparedDataset, load_manifest, prepare_dataset
from hf_sagemaker_tuning.specs import DatasetSpec

pytestmark = pytest.mark.timeout(120)


def _rows(path: Path) -> int:
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def test_emotion_all_splits(tweeteval: Path, tokenizer: str, tmp_path: Path) -> None:
    import datasets

    source = tweeteval / "emotion"
    out = tmp_path / "emotion"
    result = prepare_dataset(DatasetSpec(source=str(source)), tokenizer=tokenizer, output=out)

    names = json.loads((source / "labels.json").read_text())
    assert result.label_names == tuple(names) == ("anger", "joy", "optimism", "sadness")
    assert not result.cache_hit
    for split in ("train", "validation", "test"):
        report = result.splits[split]
        raw = _rows(source / f"{split}.jsonl")
        assert report.rows + sum(report.dropped.values()) == raw
        assert sum(report.label_counts.values()) == report.rows
        assert report.source_split == split
        assert 10 < report.lengths.p50 <= report.lengths.p95 <= report.lengths.max <= 128
    assert result.splits["train"].dropped["duplicate"] > 0  # real retweets
    assert result.truncated_fraction == 0.0 and not result.warnings

    train = datasets.load_from_disk(str(out / "train"))
    assert train.features["label"].names == names
    assert {"input_ids", "attention_mask", "token_type_ids", "text", "label"} == set(train.column_names)
    assert len(train) == result.counts["train"]
    assert max(len(ids) for ids in train["input_ids"]) == result.splits["train"].lengths.max
    assert train[0]["input_ids"][0] == 101 and train[0]["input_ids"][-1] == 102  # [CLS] ... [SEP], unpadded

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["label_names"] == names
    assert manifest["fingerprint"] == result.fingerprint
    assert manifest["splits"]["train"]["rows"] == result.counts["train"]
    assert manifest["max_length"] == 128 and manifest["tokenizer"] == tokenizer
    assert load_manifest(out) == result


def test_sentiment_test_as_train_then_cache_hit(
    tweeteval: Path, tokenizer: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spec = DatasetSpec(
        source=str(tweeteval / "sentiment"),
        splits={"train": "test", "validation": "validation"},
        max_length=32,
        max_train_samples=3000,
        max_eval_samples=500,
    )
    out = tmp_path / "sentiment"
    with caplog.at_level(logging.WARNING, logger="hf_sagemaker_tuning.data"):
        first = prepare_dataset(spec, tokenizer=tokenizer, output=out)
    assert first.counts == {"train": 3000, "validation": 500}
    assert "test" not in first.channels and not (out / "test").exists()
    assert first.label_names == ("negative", "neutral", "positive")
    assert first.splits["train"].source_split == "test"
    assert first.splits["train"].dropped == {"empty": 0, "duplicate": 1, "over_sample_cap": 12283 - 3000}
    balance = first.label_balance["train"]  # stratified cap keeps the source's shares (32/48/19 %)
    assert abs(balance["neutral"] / 3000 - 0.483) < 0.01
    # max_length 32 cuts a real share of tweets: logged and in the summary
    assert first.splits["train"].truncated_fraction > 0.01
    assert first.warnings and "truncated" in first.warnings[0]
    assert any("truncated" in r.getMessage() for r in caplog.records)
    assert "warning:" in first.summary()

    mtime = (out / "train" / "state.json").stat().st_mtime_ns
    second = prepare_dataset(spec, tokenizer=tokenizer, output=out)
    assert second.cache_hit
    assert "cached" in second.summary()
    assert (out / "train" / "state.json").stat().st_mtime_ns == mtime  # nothing rewritten
    assert second == PreparedDataset(**{**first.__dict__, "cache_hit": True})

    forced = prepare_dataset(spec, tokenizer=tokenizer, output=out, force=True)
    assert not forced.cache_hit and forced.fingerprint == first.fingerprint

    changed = prepare_dataset(spec.model_copy(update={"max_length": 48}), tokenizer=tokenizer, output=out)
    assert not changed.cache_hit and changed.fingerprint != first.fingerprint


def test_carved_validation_is_stratified_and_test_kept(tweeteval: Path, tokenizer: str, tmp_path: Path) -> None:
    spec = DatasetSpec(
        source=str(tweeteval / "emotion"),
        splits={"train": "train", "test": "test"},
        validation_size=0.2,
        max_eval_samples=1000,
    )
    result = prepare_dataset(spec, tokenizer=tokenizer, output=tmp_path / "out")
    train, validation = result.splits["train"], result.splits["validation"]
    assert validation.source_split == "train (carved)"
    assert validation.rows == round(3232 * 0.2) and train.rows == 3232 - validation.rows
    for name in result.label_names:
        share_train = train.label_counts[name] / train.rows
        assert abs(validation.label_counts[name] / validation.rows - share_train) < 0.01
    assert result.counts["test"] == 1421  # max_eval_samples caps validation (646) only: test is kept whole


def test_the_official_test_split_is_kept_whole_and_its_duplicates_counted(
    tweeteval: Path, tokenizer: str, tmp_path: Path
) -> None:
    """TweetEval offensive: its test split repeats 12 tweets; all 860 official rows are kept unless asked.

    (The issue met this on TweetEval hate, 2,970 test rows of which 4 repeat; hate is not in
    ../shared/data, offensive shows the same.)
    """
    import datasets

    source = tweeteval / "offensive"
    out = tmp_path / "offensive"
    official = _rows(source / "test.jsonl")
    assert official == 860
    whole = prepare_dataset(DatasetSpec(source=str(source)), tokenizer=tokenizer, output=out)
    test = whole.splits["test"]
    assert test.rows == official
    assert test.kept == {"empty": 0, "duplicate": 12} and not any(test.dropped.values())
    assert whole.kept_report == {"test": {"empty": 0, "duplicate": 12}}
    assert whole.splits["train"].dropped["duplicate"] == 35  # train is still cleaned
    assert len(datasets.load_from_disk(str(out / "test"))) == official
    assert "kept (whole split): 12 duplicate" in whole.summary()
    assert load_manifest(out).splits["test"].kept == test.kept

    # Asking for a cleaned test split is a different preparation (never served from the cache)...
    cleaned = prepare_dataset(
        DatasetSpec(source=str(source), cleaning={"clean_test": True}), tokenizer=tokenizer, output=out
    )
    assert not cleaned.cache_hit and cleaned.fingerprint != whole.fingerprint
    assert cleaned.splits["test"].rows == official - 12 and cleaned.splits["test"].dropped["duplicate"] == 12
    # ... and so is going back to the default: the cleaned test split is not served for it.
    again = prepare_dataset(DatasetSpec(source=str(source)), tokenizer=tokenizer, output=out)
    assert not again.cache_hit and again.fingerprint == whole.fingerprint
    assert again.counts["test"] == official == len(datasets.load_from_disk(str(out / "test")))
