"""Cross-validation, repeated seeds and the refit, driving the single-run machinery (``job.Job``) k x r times.

With ``cv_folds = k > 0`` the job reads the fold assignment ``hfst prepare`` wrote into the train channel
(``hfst_folds.json``: one fold id per row of train, and of validation when the folds were cut from both).
Run ``(i, r)`` trains on every pooled row outside fold ``i`` with seed ``seed + r`` and is scored on fold
``i``. Every run starts from the same initial weights (the model is loaded and its head initialised under
the run's seed, on the same device) and keeps no model unless ``cv_keep_models``.

Lines printed (``hfst_metric`` prefix, values as ``metrics.format_value`` prints them):

- each run's evaluations, as a single run prints them;
- after fold ``i``: ``fold=i`` and ``eval_fold<i>_<metric>`` for every ``eval_*`` metric (mean over its seeds);
- last: for every ``eval_*`` metric, the mean over all runs ``eval_cv_<metric>`` and its
  standard deviation ``eval_cv_<metric>_std`` (ddof 1), plus ``eval_cv_steps`` (mean optimizer step of the
  kept evaluations: what a refit trains for) and ``eval_cv_runs`` (folds x seeds). The objective is the mean.

``cv_refit`` trains one model on the whole pool (train + validation when the folds were cut from both) and
saves it as a single run does; its evaluation on validation is then not a held-out score.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import statistics
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hfst_train import distributed, tracking
from hfst_train.data import TokenizedSplit, load_channel, sample_indices
from hfst_train.errors import DataError, HyperparameterError, TrainingJobError
from hfst_train.metrics import format_value, load_metric_declarations, select_saved
from hfst_train.paths import ContainerPaths

FOLDS_FILE = "hfst_folds.json"
CV_PREFIX = "eval_cv_"


class FoldError(TrainingJobError):
    """One run of a cross-validated (or repeated) trial failed; the message names the fold and seed."""


def is_averaged(hps: Mapping[str, Any]) -> bool:
    """Whether this job trains several runs and reports their mean (folds or seeds)."""
    return int(hps["cv_folds"]) > 0 or int(hps["cv_repeats"]) > 1


def read_folds(train_channel: Path, folds: int, rows: Mapping[str, int]) -> dict[str, Any]:
    """The fold file, checked against ``cv_folds`` and the channels' row counts."""
    file = train_channel / FOLDS_FILE
    if not file.is_file():
        raise DataError(
            f"cv_folds is {folds}, but the train channel has no fold assignment ({file}): prepare the data with "
            "tuning.cross_validation set (hfst prepare), which writes it"
        )
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
        written, sources = int(raw["folds"]), list(raw["sources"])
        assigned = {name: [int(f) for f in raw[name]] for name in sources}
    except (ValueError, KeyError, TypeError) as error:
        raise DataError(f"{file} is not a valid fold file ({type(error).__name__}: {error})") from None
    if written != folds:
        raise DataError(
            f"cv_folds is {folds}, but the data was prepared with {written} folds ({file}); prepare it again "
            "with the same tuning.cross_validation.folds"
        )
    for name in sources:
        if len(assigned[name]) != rows[name]:
            raise DataError(f"{file} assigns {len(assigned[name])} {name} rows, the channel has {rows[name]}")
        if any(not 0 <= f < folds for f in assigned[name]):
            raise DataError(f"{file} has a fold id outside 0..{folds - 1}")
    return {"sources": sources, **assigned}


def pooled(splits: Mapping[str, TokenizedSplit], sources: list[str]) -> TokenizedSplit:
    """The rows of ``sources`` (train, then validation) as one split."""
    first = splits[sources[0]]
    rest = [splits[name] for name in sources[1:]]
    if any(split.label_names != first.label_names for split in rest):
        raise DataError("the validation labels differ from the train labels")
    return dataclasses.replace(
        first,
        input_ids=[ids for name in sources for ids in splits[name].input_ids],
        labels=[label for name in sources for label in splits[name].labels],
    )


def fold_splits(
    pool: TokenizedSplit, assignment: list[int], fold: int, hps: Mapping[str, Any], seed: int
) -> tuple[TokenizedSplit, TokenizedSplit]:
    """Fold ``fold``'s training part (every other fold) and validation part, with the sample caps applied."""
    train = pool.subset([i for i, f in enumerate(assignment) if f != fold])
    held = pool.subset([i for i, f in enumerate(assignment) if f == fold])
    train = train.subset(sample_indices(len(train), hps["train_max_samples"], seed))
    if hps["eval_max_samples"] > 0:
        held = held.subset(range(min(hps["eval_max_samples"], len(held))))
    return train, held


def _load(paths: ContainerPaths) -> dict[str, TokenizedSplit]:
    return {
        "train": load_channel(paths.train_channel, "train"),
        "validation": load_channel(paths.validation_channel, "validation"),
    }


def _run_paths(paths: ContainerPaths, name: str, keep: bool) -> ContainerPaths:
    """A run's own checkpoint folder (resumable on its own); its model goes under ``<model>/folds/`` if kept."""
    return dataclasses.replace(
        paths,
        checkpoint_dir=paths.checkpoint_dir / "runs" / name,
        model_dir=paths.model_dir / "folds" / name,
        output_data_dir=paths.output_data_dir / "folds" / name,
        test_channel=None,
    )


def _line(prefix: str, values: Mapping[str, float | int]) -> str:
    return " ".join([prefix, *(f"{key}={format_value(value)}" for key, value in values.items())])


def summarize(finals: list[Mapping[str, float | int]]) -> dict[str, float]:
    """Mean and sample standard deviation (ddof 1; 0 for one run) over runs of every ``eval_*`` metric."""
    names = [key for key in finals[0] if key.startswith("eval_")]
    out: dict[str, float] = {}
    for name in names:
        values = [float(final[name]) for final in finals if name in final]
        base = name.removeprefix("eval_")
        out[f"{CV_PREFIX}{base}"] = statistics.fmean(values)
        out[f"{CV_PREFIX}{base}_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
    out[f"{CV_PREFIX}steps"] = statistics.fmean(float(final["step"]) for final in finals)
    return out


def run_cross_validation(hps: dict[str, Any], paths: ContainerPaths, environ: Mapping[str, str]) -> dict[str, float]:
    """Train every (fold, seed) run, print per-fold and cross-run lines; returns the cross-run summary."""

    world = distributed.world_from_env(environ)
    if world.enabled:
        raise HyperparameterError(
            "cv_folds / cv_repeats train their runs one after another in one process; this job was started "
            f"with {world.world_size} processes (torchrun): use one process (one GPU) per trial"
        )
    # One tracked run for the trial (MLflow / TensorBoard, when the job asks): every run's evaluations,
    # each fold's means and the cross-run summary, as the log's metric lines show them.
    with tracking.open_tracker(environ, paths, world.is_main) as tracker:
        return _cross_validate(hps, paths, environ, world, tracker)


def _cross_validate(
    hps: dict[str, Any],
    paths: ContainerPaths,
    environ: Mapping[str, str],
    world: distributed.World,
    tracker: tracking.Tracker,
) -> dict[str, float]:
    from hfst_train.job import Job

    device = distributed.device_for(world)
    prefix, _ = load_metric_declarations()
    folds, repeats, keep = int(hps["cv_folds"]), int(hps["cv_repeats"]), bool(hps["cv_keep_models"])
    splits = _load(paths)
    if folds > 0:
        rows = {name: len(split) for name, split in splits.items()}
        assignment = read_folds(paths.train_channel, folds, rows)
        pool = pooled(splits, assignment["sources"])
        fold_of = [f for name in assignment["sources"] for f in assignment[name]]
        sources = " + ".join(assignment["sources"])
    plan = range(folds) if folds > 0 else [None]
    runs: list[dict[str, Any]] = []
    what = f"{folds}-fold cross-validation of {len(pool)} examples ({sources})" if folds else "one split"
    print(f"hfst: {what}, {repeats} seed(s) each: {len(plan) * repeats} runs", flush=True)
    for fold in plan:
        fold_finals: list[Mapping[str, float | int]] = []
        for repeat in range(repeats):
            seed = int(hps["seed"]) + repeat
            run_hps = {**hps, "seed": seed}
            where = f"fold {fold} of {folds}, seed {seed}" if fold is not None else f"seed {seed}"
            name = f"fold{fold}-seed{seed}" if fold is not None else f"seed{seed}"
            try:
                if fold is not None:
                    run_splits = fold_splits(pool, fold_of, fold, hps, seed)
                else:
                    train = splits["train"].subset(sample_indices(len(splits["train"]), hps["train_max_samples"], seed))
                    validation = splits["validation"]
                    if hps["eval_max_samples"] > 0:
                        validation = validation.subset(range(min(hps["eval_max_samples"], len(validation))))
                    run_splits = (train, validation)
                print(
                    f"hfst: run {len(runs) + 1}: {where}: {len(run_splits[0])} train / "
                    f"{len(run_splits[1])} validation examples",
                    flush=True,
                )
                run_paths = _run_paths(paths, name, keep)
                job = Job(run_hps, run_paths, environ, world, device, splits=run_splits)
                job.tracker = tracker
                job.resume()
                job.train()
                if keep:
                    final = job.write_outputs()
                else:
                    final = dict(
                        job.history[select_saved(job.history, hps["metric_for_best_model"], hps["save_model"])]
                    )
            except SystemExit:
                raise
            except Exception as error:
                raise FoldError(f"{where} failed: {type(error).__name__}: {error}") from error
            shutil.rmtree(run_paths.checkpoint_dir, ignore_errors=True)  # no model per run unless asked
            fold_finals.append(final)
            runs.append({"fold": fold, "seed": seed, "final": final, "evaluations": job.history})
            del job  # the next run's model must not share the device with this one's
        if fold is not None:
            means = summarize(fold_finals)
            values: dict[str, float | int] = {"fold": fold, "step": round(means[f"{CV_PREFIX}steps"])}
            values.update(
                {
                    f"eval_fold{fold}_{key.removeprefix(CV_PREFIX)}": value
                    for key, value in means.items()
                    if not key.endswith("_std") and key != f"{CV_PREFIX}steps"
                }
            )
            print(_line(prefix, values), flush=True)
            tracker.log({key: value for key, value in values.items() if key != "fold"})
    summary = summarize([run["final"] for run in runs])
    _write_outputs(paths, hps, runs, summary, sources if folds else "train")
    # The last line carries the objective: AMT reads a metric's last value.
    print(_line(prefix, {**summary, f"{CV_PREFIX}runs": len(runs)}), flush=True)
    tracker.log({**summary, f"{CV_PREFIX}runs": len(runs), "step": round(summary[f"{CV_PREFIX}steps"])})
    return summary


def _write_outputs(
    paths: ContainerPaths, hps: Mapping[str, Any], runs: list[dict[str, Any]], summary: Mapping[str, float], pool: str
) -> None:
    """``metrics.json`` (every run's evaluations and the summary) and a note in the model folder."""
    report = {
        "cross_validation": {
            "folds": int(hps["cv_folds"]),
            "repeats": int(hps["cv_repeats"]),
            "pool": pool,
            "runs": runs,
            "mean_steps": summary[f"{CV_PREFIX}steps"],
        },
        "final": dict(summary),
    }
    paths.output_data_dir.mkdir(parents=True, exist_ok=True)
    (paths.output_data_dir / "metrics.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    paths.model_dir.mkdir(parents=True, exist_ok=True)
    note = {
        "cross_validation": True,
        "message": "a cross-validated trial keeps no servable model; refit it (hfst retrain JOB --refit)",
        "mean_steps": summary[f"{CV_PREFIX}steps"],
    }
    (paths.model_dir / "hfst_cross_validation.json").write_text(json.dumps(note, indent=2), encoding="utf-8")


def refit_splits(paths: ContainerPaths, hps: Mapping[str, Any]) -> tuple[TokenizedSplit, TokenizedSplit]:
    """The refit's data: every row the folds were cut from (train + validation when both), and validation.

    Without a fold file the pool is train + validation. ``train_max_samples`` caps the pool (seeded).
    """
    splits = _load(paths)
    file = paths.train_channel / FOLDS_FILE
    sources = ["train", "validation"]
    if file.is_file():
        try:
            sources = list(json.loads(file.read_text(encoding="utf-8"))["sources"])
        except (ValueError, KeyError, TypeError) as error:
            raise DataError(f"{file} is not a valid fold file ({type(error).__name__}: {error})") from None
    pool = pooled(splits, sources)
    pool = pool.subset(sample_indices(len(pool), hps["train_max_samples"], hps["seed"]))
    validation = splits["validation"]
    if hps["eval_max_samples"] > 0:
        validation = validation.subset(range(min(hps["eval_max_samples"], len(validation))))
    print(
        f"hfst: refit on {len(pool)} examples ({' + '.join(sources)}); the validation figures below are "
        + ("not held out (validation is part of the refit's data)" if "validation" in sources else "held out"),
        flush=True,
    )
    return pool, validation


def check_refit(hps: Mapping[str, Any]) -> None:
    """A refit trains one model for a fixed budget: no folds, no seeds, the last model kept."""
    if is_averaged(hps):
        raise HyperparameterError("cv_refit trains one model: set cv_folds 0 and cv_repeats 1")
    if hps["save_model"] != "last":
        raise HyperparameterError("cv_refit keeps the last model (no early stopping): set save_model last")
