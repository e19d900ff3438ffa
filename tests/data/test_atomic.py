"""A failed or interrupted prepare never destroys a prepared output nor leaves a channel that looks complete."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hf_sagemaker_tuning.data import load_manifest, prepare_dataset
from hf_sagemaker_tuning.data._store import Store
from hf_sagemaker_tuning.errors import DataError
from hf_sagemaker_tuning.specs import DatasetSpec

from .conftest import tweets, write_jsonl


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def prepared(small_folder: Path, tokenizer: str, tmp_path: Path) -> tuple[DatasetSpec, Path, dict[str, bytes]]:
    spec = DatasetSpec(source=str(small_folder))
    out = tmp_path / "out"
    prepare_dataset(spec, tokenizer=tokenizer, output=out)
    return spec, out, _snapshot(out)


def test_failure_while_saving_channels_keeps_the_old_output(
    prepared: tuple[DatasetSpec, Path, dict[str, bytes]], tokenizer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datasets

    spec, out, before = prepared
    real = datasets.Dataset.save_to_disk
    saved: list[str] = []

    def disk_full_on_second_channel(self: Any, path: str, **kwargs: Any) -> None:
        saved.append(path)
        real(self, path, **kwargs)
        if len(saved) == 2:
            raise OSError("No space left on device (simulated)")

    monkeypatch.setattr(datasets.Dataset, "save_to_disk", disk_full_on_second_channel)
    with pytest.raises(DataError, match=r"cannot write .*simulated.*nothing was changed"):
        prepare_dataset(spec.model_copy(update={"max_length": 16}), tokenizer=tokenizer, output=out)
    assert len(saved) == 2 and all(".staging-" in p for p in saved)  # never written in place
    assert _snapshot(out) == before  # old manifest and channels intact, no staging left behind
    assert load_manifest(out).max_length == 128


def test_failure_while_swapping_in_rolls_back(
    prepared: tuple[DatasetSpec, Path, dict[str, bytes]], tokenizer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, out, before = prepared

    def broken_write(self: Store, relative: str, value: Any) -> None:
        raise OSError("connection reset (simulated)")

    monkeypatch.setattr(Store, "write_json", broken_write)
    with pytest.raises(DataError, match=r"cannot write .*simulated.*nothing was changed"):
        prepare_dataset(spec.model_copy(update={"max_length": 16}), tokenizer=tokenizer, output=out)
    assert _snapshot(out) == before


def test_bad_input_leaves_the_old_output(
    prepared: tuple[DatasetSpec, Path, dict[str, bytes]], small_folder: Path, tokenizer: str
) -> None:
    spec, out, before = prepared
    write_jsonl(small_folder / "train.jsonl", [*tweets(5), {"text": ["not", "text"], "label": "pos"}])
    with pytest.raises(DataError, match="not text"):
        prepare_dataset(spec, tokenizer=tokenizer, output=out, force=True)
    assert _snapshot(out) == before


def test_channels_without_manifest_are_not_prepared(
    prepared: tuple[DatasetSpec, Path, dict[str, bytes]], tokenizer: str
) -> None:
    spec, out, _ = prepared
    (out / "manifest.json").unlink()  # what an interrupted run before the last step looks like
    with pytest.raises(DataError, match=r"is not a prepared dataset: it has no manifest\.json"):
        load_manifest(out)
    again = prepare_dataset(spec, tokenizer=tokenizer, output=out)
    assert not again.cache_hit and load_manifest(out).fingerprint == again.fingerprint


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("{not json", "is not valid JSON"),
        ('{"format": "other"}', "not a manifest this version understands"),
        ('{"format": "hf-sagemaker-tuning/prepared-dataset", "format_version": 1}', "incomplete or malformed"),
    ],
)
def test_broken_manifest_is_not_prepared(
    prepared: tuple[DatasetSpec, Path, dict[str, bytes]], tokenizer: str, content: str, match: str
) -> None:
    spec, out, _ = prepared
    (out / "manifest.json").write_text(content)
    with pytest.raises(DataError, match=match):
        load_manifest(out)
    assert not prepare_dataset(spec, tokenizer=tokenizer, output=out).cache_hit


def test_missing_channel_is_not_prepared(prepared: tuple[DatasetSpec, Path, dict[str, bytes]], tokenizer: str) -> None:
    import shutil

    spec, out, _ = prepared
    shutil.rmtree(out / "validation")
    with pytest.raises(DataError, match="channel\\(s\\) validation missing"):
        load_manifest(out)
    assert not prepare_dataset(spec, tokenizer=tokenizer, output=out).cache_hit


def test_stale_test_channel_is_removed(
    prepared: tuple[DatasetSpec, Path, dict[str, bytes]], small_folder: Path, tokenizer: str
) -> None:
    spec, out, _ = prepared
    assert (out / "test").is_dir()
    (small_folder / "test.jsonl").unlink()
    result = prepare_dataset(spec, tokenizer=tokenizer, output=out)
    assert "test" not in result.channels and not (out / "test").exists()
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "train", "validation"]
