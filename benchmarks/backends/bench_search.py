"""Bayesian (TPE, as the local backend configures it) vs random: best objective after N trials, 10 seeds.

Runs the local backend's own sampler construction (``backends.local.search``) on the fake
training script's objective (tests/backends/fake/fake_train.py: x in [0,1] linear, y in
[0.01,1] log, opt in a/b/c; optimum 1.1 at x=0.3, y=0.7, opt=c), in one process.

    .venv/bin/python benchmarks/backends/bench_search.py [--trials 20] [--seeds 10]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from hf_sagemaker_tuning.backends.local import search  # noqa: E402
from hf_sagemaker_tuning.compile import compile_request  # noqa: E402
from hf_sagemaker_tuning.specs import parse_job_spec  # noqa: E402
from tests.fakejob import fake_spec  # noqa: E402


def objective(hps: dict[str, str]) -> float:
    x, y = float(hps["x"]), float(hps["y"])
    bonus = {"a": 0.0, "b": 0.05, "c": 0.1}[hps["opt"]]
    rng = random.Random(f"1-{x}-{y}")
    return 1.0 - (x - 0.3) ** 2 - (y - 0.7) ** 2 + bonus + rng.gauss(0, 0.002)


def best_after(strategy: str, seed: int, trials: int) -> list[float]:
    import optuna

    spec = parse_job_spec(
        fake_spec(**{"tuning": {"strategy": strategy, "max_jobs": trials, "max_parallel_jobs": 1, "random_seed": seed}})
    )
    request = compile_request(spec, target="local", job_name="bench")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = optuna.create_study(direction="maximize", sampler=search.sampler(request))
        best, curve = float("-inf"), []
        for _ in range(trials):
            trial = study.ask(search.distributions(request))
            value = objective(search.to_hyperparameters(request, trial.params))
            study.tell(trial, value)
            best = max(best, value)
            curve.append(best)
    return curve


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    machine = f"{platform.machine()} {platform.processor() or ''}".strip()
    print(f"machine: {machine} cpus={os.cpu_count()} python={platform.python_version()}")
    results = {s: [best_after(s, seed, args.trials) for seed in range(args.seeds)] for s in ("bayesian", "random")}
    print(f"best objective after N trials (optimum 1.1), median over {args.seeds} seeds")
    print(f"{'N':>4} {'bayesian':>10} {'random':>10} {'gap to optimum b/r':>20}")
    for n in (5, 10, 15, args.trials):
        if n > args.trials:
            continue
        b = statistics.median(c[n - 1] for c in results["bayesian"])
        r = statistics.median(c[n - 1] for c in results["random"])
        print(f"{n:>4} {b:>10.4f} {r:>10.4f} {(1.1 - b) / max(1.1 - r, 1e-9):>20.2f}")


if __name__ == "__main__":
    main()
