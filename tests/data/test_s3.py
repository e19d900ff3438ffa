"""S3 sources and outputs through s3fs against a moto server (fake credentials; never real AWS)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hf_sagemaker_tuning.data import load_manifest, prepare_dataset
from hf_sagemaker_tuning.errors import DataError
from hf_sagemaker_tuning.specs import DatasetSpec

pytestmark = [pytest.mark.aws, pytest.mark.timeout(120)]


def _rows(ds: Any) -> list[dict[str, Any]]:
    return [dict(row) for row in ds]


def test_s3_round_trip(tweeteval: Path, tokenizer: str, tmp_path: Path, s3: dict[str, Any]) -> None:
    import datasets

    bucket, options, fs = s3["bucket"], s3["options"], s3["fs"]
    fs.put(str(tweeteval / "emotion") + "/", f"{bucket}/src/emotion/", recursive=True)
    caps = {"max_train_samples": 300, "max_eval_samples": 100}

    spec = DatasetSpec(source=f"s3://{bucket}/src/emotion", **caps)
    uri = f"s3://{bucket}/prepared/emotion"
    remote = prepare_dataset(spec, tokenizer=tokenizer, output=uri, storage_options=options)
    local = prepare_dataset(
        DatasetSpec(source=str(tweeteval / "emotion"), **caps), tokenizer=tokenizer, output=tmp_path / "local"
    )
    assert remote.channels == {name: f"{uri}/{name}" for name in ("train", "validation", "test")}
    assert remote.label_names == local.label_names and remote.counts == local.counts

    keys = sorted(k.split("/prepared/emotion/")[1] for k in fs.find(f"{bucket}/prepared/emotion"))
    assert keys[0] == "manifest.json" and not any(".staging-" in k or ".backup-" in k for k in keys)
    for name in ("train", "validation", "test"):
        back = datasets.load_from_disk(f"{uri}/{name}", storage_options=options)
        here = datasets.load_from_disk(str(tmp_path / "local" / name))
        assert back.features == here.features
        assert back.features["label"].names == ["anger", "joy", "optimism", "sadness"]
        assert _rows(back) == _rows(here)

    again = prepare_dataset(spec, tokenizer=tokenizer, output=uri, storage_options=options)
    assert again.cache_hit and load_manifest(uri, options).fingerprint == remote.fingerprint

    # a save_to_disk folder on S3 is a source too
    disk = DatasetSpec(source=f"{uri}/train", splits={"train": "train"})
    from_disk = prepare_dataset(disk, tokenizer=tokenizer, output=tmp_path / "from-disk", storage_options=options)
    assert from_disk.label_names == remote.label_names
    assert from_disk.counts["train"] + from_disk.counts["validation"] == 300


def test_s3_source_not_found(tokenizer: str, tmp_path: Path, s3: dict[str, Any]) -> None:
    spec = DatasetSpec(source=f"s3://{s3['bucket']}/nothing/here.csv")
    with pytest.raises(DataError, match=r"source not found: 's3://.*/nothing/here\.csv'"):
        prepare_dataset(spec, tokenizer=tokenizer, output=tmp_path / "out", storage_options=s3["options"])


def test_s3_failed_prepare_keeps_old_output(
    small_folder: Path, tokenizer: str, s3: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from hf_sagemaker_tuning.data._store import Store

    uri, options, fs = f"s3://{s3['bucket']}/out", s3["options"], s3["fs"]
    spec = DatasetSpec(source=str(small_folder))
    prepare_dataset(spec, tokenizer=tokenizer, output=uri, storage_options=options)
    before = {k: fs.cat_file(k) for k in fs.find(f"{s3['bucket']}/out")}

    def broken_write(self: Store, relative: str, value: Any) -> None:
        raise OSError("connection reset (simulated)")

    monkeypatch.setattr(Store, "write_json", broken_write)
    with pytest.raises(DataError, match=r"cannot write .*simulated.*nothing was changed"):
        prepare_dataset(spec, tokenizer=tokenizer, output=uri, storage_options=options, force=True)
    fs.invalidate_cache()
    assert {k: fs.cat_file(k) for k in fs.find(f"{s3['bucket']}/out")} == before
