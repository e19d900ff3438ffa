"""Per-trial overhead of the local backend with the real training package, median of 5.

Measures, for a tiny model on a tiny prepared slice of TweetEval emotion: launch -> the
training package's "hfst: training ..." line (right before the first optimizer step) and
launch -> the first metric line. One trial at a time, one torch thread.

    .venv/bin/python benchmarks/backends/bench_trial_overhead.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "data" / "tweeteval" / "emotion"


def setup(root: Path) -> tuple[Path, Path]:
    from hf_sagemaker_tuning.data import prepare_dataset
    from hf_sagemaker_tuning.specs import DatasetSpec
    from tests.helpers import tiny_classifier

    model = tiny_classifier(root / "model", num_labels=4)
    data = root / "data"
    spec = DatasetSpec(source=str(DATA), max_length=64, max_train_samples=64, max_eval_samples=32)
    prepare_dataset(spec, tokenizer=str(model), output=data)
    return model, data


def one_run(root: Path, model: Path, data: Path, index: int) -> tuple[float, float]:
    from hf_sagemaker_tuning.backends.local.trial import Launch, start
    from hf_sagemaker_tuning.compile import compile_request
    from hf_sagemaker_tuning.specs import parse_job_spec

    spec = parse_job_spec(
        {
            "name": "overhead",
            "dataset": {"source": str(DATA)},
            "training": {"model": str(model), "hyperparameters": {"epochs": 1, "per_device_train_batch_size": 16}},
            "search_space": {"learning_rate": {"kind": "continuous", "min": 1e-4, "max": 1e-3}},
            "objective": {"metric": "eval_accuracy"},
            "tuning": {"strategy": "random", "max_jobs": 1},
        }
    )
    request = compile_request(spec, target="local", job_name="overhead", data_uri=data.as_uri())
    hps = dict(request.TrainingJobDefinition.StaticHyperParameters, learning_rate="0.0005")
    launch = Launch(name=f"t{index}", folder=root / f"trial-{index}", hyperparameters=hps, threads=1)
    t0 = time.perf_counter()
    process = start(request, launch)
    log = launch.folder / "log.txt"
    first_step = first_metric = None
    while first_metric is None:
        text = log.read_text(errors="replace") if log.is_file() else ""
        now = time.perf_counter() - t0
        if first_step is None and "hfst: training" in text:
            first_step = now
        if "hfst_metric" in text:
            first_metric = now
        if process.poll() not in (None, 0):
            raise RuntimeError(text[-2000:])
        time.sleep(0.01)
    process.wait()
    return first_step or first_metric, first_metric


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print(f"machine: {platform.machine()} cpus={os.cpu_count()} python={platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model, data = setup(root)
        runs = [one_run(root, model, data, i) for i in range(args.runs)]
    steps = [r[0] for r in runs]
    metrics = [r[1] for r in runs]
    for label, values in (("launch -> first training step", steps), ("launch -> first metric line  ", metrics)):
        shown = ", ".join(f"{v:.2f}" for v in values)
        print(f"{label}: median {statistics.median(values):.2f} s  (runs: {shown})")
    print("for comparison: a SageMaker training job spends ~2 minutes in Starting/Downloading before its first step")


if __name__ == "__main__":
    main()
