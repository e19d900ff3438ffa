"""``prepare_dataset(..., cross_validation=...)`` writes a stratified, seeded fold assignment in the cache key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hf_sagemaker_tuning.data import load_manifest, prepare_dataset
from hf_sagemaker_tuning.errors import DataError
from hf_sagemaker_tuning.specs import DatasetSpec
from hf_sagemaker_tuning.specs.cross_validation import CrossValidationSpec

from .conftest import tweets, write_jsonl


def test_folds_cover_train_and_validation_once_each_stratified_and_in_the_manifest(
    small_folder: Path, tokenizer: str
) -> None:
    out = small_folder.parent / "out"
    result = prepare_dataset(
        DatasetSpec(source=str(small_folder)),
        tokenizer=tokenizer,
        output=out,
        cross_validation=CrossValidationSpec(folds=5),
    )
    folds = json.loads((out / "train" / "hfst_folds.json").read_text())
    assert folds["sources"] == ["train", "validation"]
    assert folds["rule"] == "stratified by class"
    assert (len(folds["train"]), len(folds["validation"])) == (40, 10)
    pool = folds["train"] + folds["validation"]
    labels = [t["label"] for t in tweets(40)] + [t["label"] for t in tweets(10)]
    for fold in range(5):  # each fold's validation part: 10 rows, 5 of each class; none is in two folds
        part = [labels[i] for i, f in enumerate(pool) if f == fold]
        assert sorted(part) == ["neg"] * 5 + ["pos"] * 5
    assert result.folds is not None and result.folds["sizes"] == [10] * 5
    assert load_manifest(out).folds == result.folds
    assert "folds: 5 from train + validation, stratified by class, seed 0" in result.summary()
    assert not (out / "validation" / "hfst_folds.json").exists()


def test_the_fold_options_are_part_of_the_cache_key_and_keep_fold_models_is_not(
    small_folder: Path, tokenizer: str
) -> None:
    spec, out = DatasetSpec(source=str(small_folder)), small_folder.parent / "out"
    plain = prepare_dataset(spec, tokenizer=tokenizer, output=out)
    five = prepare_dataset(spec, tokenizer=tokenizer, output=out, cross_validation=CrossValidationSpec(folds=5))
    assert not five.cache_hit and five.fingerprint != plain.fingerprint
    again = prepare_dataset(
        spec, tokenizer=tokenizer, output=out, cross_validation=CrossValidationSpec(folds=5, keep_fold_models=True)
    )
    assert again.cache_hit
    reseeded = prepare_dataset(
        spec, tokenizer=tokenizer, output=out, cross_validation=CrossValidationSpec(folds=5, seed=1)
    )
    assert not reseeded.cache_hit
    assert prepare_dataset(spec, tokenizer=tokenizer, output=out).fingerprint == plain.fingerprint


def test_validation_kept_apart_cuts_the_folds_from_train_alone(small_folder: Path, tokenizer: str) -> None:
    out = small_folder.parent / "out"
    prepare_dataset(
        DatasetSpec(source=str(small_folder)),
        tokenizer=tokenizer,
        output=out,
        cross_validation=CrossValidationSpec(folds=4, use_validation=False),
    )
    folds = json.loads((out / "train" / "hfst_folds.json").read_text())
    assert folds["sources"] == ["train"] and "validation" not in folds
    assert sorted(set(folds["train"])) == [0, 1, 2, 3]


def test_a_class_with_fewer_examples_than_folds_is_refused_naming_it_and_its_count(
    tmp_path: Path, tokenizer: str
) -> None:
    folder = tmp_path / "src"
    write_jsonl(folder / "train.jsonl", [*tweets(20), {"text": "a rare one", "label": "rare"}])
    write_jsonl(folder / "validation.jsonl", [*tweets(6, prefix="val"), {"text": "rare two", "label": "rare"}])
    with pytest.raises(
        DataError, match=r"folds is 3, but class\(es\) 'rare' has 2 example\(s\) in train \+ validation"
    ):
        prepare_dataset(
            DatasetSpec(source=str(folder)),
            tokenizer=tokenizer,
            output=tmp_path / "out",
            cross_validation=CrossValidationSpec(folds=3),
        )
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_a_sagemaker_job_is_refused_when_its_data_was_prepared_without_its_folds(
    small_folder: Path, tokenizer: str
) -> None:
    from hf_sagemaker_tuning.specs import parse_job_spec
    from hf_sagemaker_tuning.tuning_job._submit import check_prepared

    from ..specs._base_spec import spec_with

    job = parse_job_spec(spec_with(**{"tuning.early_stopping": "off", "tuning.cross_validation": {"folds": 3}}))
    out = small_folder.parent / "out"
    prepare_dataset(DatasetSpec(source=str(small_folder)), tokenizer=tokenizer, output=out)
    with pytest.raises(DataError, match=r"has no fold assignment for tuning\.cross_validation"):
        check_prepared(str(out), job)
    prepare_dataset(
        DatasetSpec(source=str(small_folder)),
        tokenizer=tokenizer,
        output=out,
        cross_validation=CrossValidationSpec(folds=3),
    )
    assert check_prepared(str(out), job) is None


SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


@pytest.mark.parametrize(
    ("folder", "dataset", "rule"),
    [
        ("regression/emobank_valence", {"problem_type": "regression"}, "stratified by quantile bins of the target"),
        ("multilabel/goemotions", {"problem_type": "multi_label_classification"}, "rarest label"),
        ("ner/wnut17", {"problem_type": "token_classification"}, "plain seeded k-fold"),
    ],
)
def test_each_problem_type_gets_its_stated_fold_rule(
    folder: str, dataset: dict[str, str], rule: str, tmp_path: Path, tokenizer: str
) -> None:
    source = SHARED / folder
    if not source.is_dir():
        pytest.skip(f"shared data {source} is not here")
    spec = DatasetSpec(source=str(source), max_train_samples=60, max_eval_samples=15, max_test_samples=5, **dataset)
    result = prepare_dataset(
        spec, tokenizer=tokenizer, output=tmp_path / "out", cross_validation=CrossValidationSpec(folds=3)
    )
    folds = json.loads((tmp_path / "out" / "train" / "hfst_folds.json").read_text())
    assert rule in folds["rule"]
    assert (len(folds["train"]), len(folds["validation"])) == (60, 15)
    assert sorted(set(folds["train"] + folds["validation"])) == [0, 1, 2]
    assert result.folds is not None and sum(result.folds["sizes"]) == 75
    assert max(result.folds["sizes"]) - min(result.folds["sizes"]) <= 1  # dealt evenly
