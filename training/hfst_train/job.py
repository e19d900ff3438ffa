"""One training job: resume, train with periodic evaluation and checkpoints, write the outputs."""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from hfst_train import checkpoint, distributed, lora, tasks, tracking
from hfst_train.data import Collator, TokenizedSplit, load_channel, to_device, train_batches
from hfst_train.errors import CheckpointError, DataError, NonFiniteLossError
from hfst_train.hparams import load_declarations
from hfst_train.metrics import is_better, load_metric_declarations, print_line, select_saved
from hfst_train.optim import Precision
from hfst_train.paths import ContainerPaths
from hfst_train.scoring import predict, score_sharded, split_metrics
from hfst_train.setup import TrainingSetup, build_setup, effective_config, load_splits

PACKAGE_DIR = Path(__file__).resolve().parent.parent
#: Files of the package copied into ``<model>/code/`` (name in the package -> name in the model).
SERVING_FILES = {"inference.py": "inference.py", "serving_requirements.txt": "requirements.txt"}
#: The GPU is asked for the running loss only every this many steps (on CPU every step: syncing is free there).
GPU_CHECK_EVERY = 50


def evaluate(
    model: torch.nn.Module,
    split: TokenizedSplit,
    collate: Collator,
    batch_size: int,
    device: torch.device,
    precision: Precision,
    options: Mapping[str, Any] | None = None,
) -> dict[str, float]:
    """One pass over the split under ``inference_mode``: the mean loss over all examples, and the metrics.

    ``eval_official`` is among them when the split's channel names the task's official metric.
    """
    loss, labels, predicted = predict(model, split, collate, batch_size, device, precision)
    return split_metrics(loss, labels, predicted, split, options)


class Job:
    """Trains one model under the container contract."""

    tracker: tracking.Tracker = tracking.NO_TRACKER  # MLflow / TensorBoard, when the job asks (tracking.py)

    def __init__(
        self,
        hps: dict[str, Any],
        paths: ContainerPaths,
        environ: Mapping[str, str],
        world: distributed.World | None = None,
        device: torch.device | None = None,
        splits: tuple[TokenizedSplit, TokenizedSplit] | None = None,
    ) -> None:
        self.hps = hps
        self.world = world or distributed.World()
        self.paths = paths
        self.environ = environ
        self.prefix, self.declared = load_metric_declarations()
        train, validation = splits if splits is not None else load_splits(paths, hps)  # given: a fold (crossval.py)
        # the problem type (read from the data) decides which hyperparameters and metrics apply
        self.hps = hps = tasks.resolve_hyperparameters(train.problem_type, hps, load_declarations())
        self.task = tasks.task_for(train.problem_type)
        self.options = {"threshold": hps["threshold"]}
        if "eval_official" in (
            hps["metric_for_best_model"],
            environ.get("SM_HP__TUNING_OBJECTIVE_METRIC", "").strip('"'),
        ) and (validation.official is None):
            raise DataError(
                "eval_official needs the task's official metric, and the validation channel names none "
                "(no hfst_task.json): set dataset.task in the spec (e.g. tweet_eval/emotion) and prepare again"
            )
        self.setup: TrainingSetup = build_setup(
            hps, train, validation, device=device, environ=environ, world=self.world
        )
        #: Examples each evaluation scored over all ranks (written to metrics.json: no drops, no duplicates).
        self.evaluated_examples: list[int] = []
        self.history: list[dict[str, float | int]] = []
        self.best_index: int | None = None
        self.epoch_index = 0
        self.batches_done = 0
        stop = environ.get("HFST_TEST_STOP_AFTER_STEP")
        self.stop_after_step = int(stop) if stop else None
        self.fault = distributed.Fault.from_env(environ)

    # -- checkpoints -----------------------------------------------------------------------------------------
    def resume(self) -> int | None:
        """Continue from the checkpoint folder's state, if one exists; returns the step resumed from."""
        state = checkpoint.load_state(self.paths.checkpoint_dir)
        if state is None:
            return None
        if state["hyperparameters"] != self.hps:
            changed = sorted(k for k in self.hps if state["hyperparameters"].get(k) != self.hps[k])
            raise CheckpointError(
                f"the checkpoint in {self.paths.checkpoint_dir} was written with other values of {changed}; "
                "use an empty checkpoint folder for a new configuration"
            )
        saved_world = int(state.get("world_size", 1))
        if saved_world != self.world.world_size:
            raise CheckpointError(
                f"the checkpoint in {self.paths.checkpoint_dir} was written by {saved_world} training process(es) "
                f"and this run has {self.world.world_size}: the global batch and the data order would change; "
                "resume with the same number of processes or use an empty checkpoint folder"
            )
        setup = self.setup
        setup.model.load_state_dict(state["model"])
        setup.optimizer.load_state_dict(state["optimizer"])
        setup.scheduler.load_state_dict(state["scheduler"])
        setup.engine.scaler.load_state_dict(state["scaler"])
        ranks = state.get("rng_ranks") or [state["rng"]]
        checkpoint.restore_rng(ranks[self.world.rank] if self.world.rank < len(ranks) else state["rng"])
        setup.engine.step = int(state["step"])
        self.epoch_index = int(state["epoch_index"])
        self.batches_done = int(state["batches_done"])
        self.history = list(state["history"])
        self.best_index = state["best_index"]
        return setup.engine.step

    def save_checkpoint(self) -> None:
        """Rank 0 writes the state (with every rank's RNG state); all ranks wait until it is on disk."""
        setup = self.setup
        rng = distributed.gather_objects(self.world, checkpoint.rng_state())
        if not self.world.is_main:
            distributed.barrier(self.world)
            return
        checkpoint.save_state(
            self.paths.checkpoint_dir,
            {
                "hyperparameters": self.hps,
                "world_size": self.world.world_size,
                "rng_ranks": rng if self.world.enabled else None,
                "model": setup.model.state_dict(),
                "optimizer": setup.optimizer.state_dict(),
                "scheduler": setup.scheduler.state_dict(),
                "scaler": setup.engine.scaler.state_dict(),
                "rng": checkpoint.rng_state(),
                "step": setup.engine.step,
                "epoch_index": self.epoch_index,
                "batches_done": self.batches_done,
                "history": self.history,
                "best_index": self.best_index,
            },
        )
        distributed.barrier(self.world)

    # -- training --------------------------------------------------------------------------------------------
    def run_evaluation(self, train_seconds: float) -> None:
        setup = self.setup
        engine = setup.engine
        engine.check_finite()
        train_loss, examples = engine.take_train_loss()
        metrics, scored = score_sharded(
            setup.model,
            setup.validation,
            setup.eval_collate,
            self.hps["per_device_eval_batch_size"],
            setup.device,
            setup.precision,
            self.world,
            self.options,
        )
        self.evaluated_examples.append(scored)
        if not math.isfinite(metrics["eval_loss"]):
            raise NonFiniteLossError(f"evaluation loss became NaN or infinite at optimizer step {engine.step}")
        entry: dict[str, float | int] = {
            "epoch": engine.step / setup.plan.steps_per_epoch,
            "step": engine.step,
            **metrics,
            "train_loss": train_loss,
            "train_samples_per_second": examples / train_seconds if train_seconds > 0 else 0.0,
        }
        self.history.append(entry)
        if self.world.is_main:  # one metric line per evaluation, whatever the number of processes
            print_line(self.prefix, self.declared, entry)
            self.tracker.log(entry)
        metric = self.hps["metric_for_best_model"]
        incumbent = None if self.best_index is None else float(self.history[self.best_index][metric])
        if is_better(metric, float(entry[metric]), incumbent):
            self.best_index = len(self.history) - 1
            if self.hps["save_model"] == "best" and self.world.is_main:
                checkpoint.save_best(self.paths.checkpoint_dir, setup.model)
        self.save_checkpoint()
        if self.stop_after_step is not None and engine.step >= self.stop_after_step:
            print(f"hfst: stopping after step {engine.step} (HFST_TEST_STOP_AFTER_STEP)", flush=True)
            raise SystemExit(75)

    def train(self) -> None:
        setup = self.setup
        engine = setup.engine
        plan = setup.plan
        eval_steps = self.hps["eval_steps"]
        check_every = 1 if setup.device.type == "cpu" else GPU_CHECK_EVERY
        started = time.perf_counter()

        def after_step() -> bool:
            """Check, maybe evaluate; True when the run has reached its last step."""
            nonlocal started
            if self.fault is not None:
                self.fault.strike(self.world.rank, engine.step)
            if engine.step % check_every == 0 or engine.step == plan.total_steps:
                engine.check_finite()
            if eval_steps > 0 and engine.step % eval_steps == 0:
                engine.synchronize()
                self.run_evaluation(time.perf_counter() - started)
                started = time.perf_counter()
            return engine.step >= plan.total_steps

        world = self.world
        while engine.step < plan.total_steps:
            # Global batches, the same on every rank (same seed and epoch); each rank trains on its slice.
            batches = train_batches(
                setup.train.lengths,
                self.hps["per_device_train_batch_size"] * world.world_size,
                self.hps["seed"],
                self.epoch_index,
                self.hps["group_by_length"],
            )
            finished = False
            for position in range(self.batches_done, len(batches)):
                whole = batches[position]
                mine = distributed.shard(whole, world)
                # A rank whose slice of a short last batch is empty still joins the gradient all-reduce,
                # with a stand-in example whose loss is weighted 0.
                batch = setup.train_collate(mine or whole[:1])
                self.batches_done += 1
                completed = engine.micro_step(
                    to_device(batch, setup.device),
                    share=len(mine) * world.world_size / len(whole),
                    examples=len(mine),
                    sync=position == len(batches) - 1,
                )
                if completed and after_step():
                    finished = True
                    break
            if not finished and engine.pending:
                engine.optimizer_step()
                finished = after_step()
            if self.batches_done >= len(batches):
                self.epoch_index += 1
                self.batches_done = 0
                if eval_steps == 0 and (not self.history or self.history[-1]["step"] != engine.step):
                    engine.synchronize()
                    self.run_evaluation(time.perf_counter() - started)
                    started = time.perf_counter()
        if not self.history or self.history[-1]["step"] != engine.step:
            engine.check_finite()
            engine.synchronize()
            self.run_evaluation(time.perf_counter() - started)

    # -- outputs ---------------------------------------------------------------------------------------------
    def write_outputs(self) -> dict[str, float | int]:
        """Save the kept model (best or last) with tokenizer and serving code; metrics JSON; final metric line.

        Only rank 0 writes and prints; the other ranks return the kept evaluation.
        """
        setup = self.setup
        if not self.world.is_main:
            kept_index = select_saved(self.history, self.hps["metric_for_best_model"], self.hps["save_model"])
            return dict(self.history[kept_index])
        model_dir = self.paths.model_dir
        model_dir.mkdir(parents=True, exist_ok=True)
        kept = select_saved(self.history, self.hps["metric_for_best_model"], self.hps["save_model"])
        best_dir = self.paths.checkpoint_dir / checkpoint.BEST_DIR
        if self.hps["save_model"] == "best" and kept != len(self.history) - 1:
            if not checkpoint.best_is_complete(best_dir):
                raise CheckpointError(f"the best model's folder {best_dir} is missing")
            if lora.is_lora(setup.model):  # best/ holds the adapter; serve the merged model
                lora.load_adapter_weights(setup.model, best_dir)
                checkpoint.save_pretrained(lora.merged(setup.model), model_dir)
            else:
                shutil.copytree(best_dir, model_dir, dirs_exist_ok=True)
        else:
            checkpoint.save_pretrained(lora.merged(setup.model), model_dir)
        checkpoint.save_tokenizer(setup.tokenizer, model_dir)
        code_dir = model_dir / "code"
        code_dir.mkdir(exist_ok=True)
        for source, target in SERVING_FILES.items():
            shutil.copyfile(PACKAGE_DIR / source, code_dir / target)
        # The handler truncates texts where training did: the longest sequence the model saw.
        seen = max([*setup.train.lengths, *setup.validation.lengths], default=setup.eval_collate.max_length)
        serving = {"max_length": min(seen, setup.eval_collate.max_length), **self.task.serving(setup.train, self.hps)}
        (code_dir / "serving.json").write_text(json.dumps(serving), encoding="utf-8")
        final = dict(self.history[kept])
        report: dict[str, Any] = {
            "evaluations": self.history,
            "final": final,
            "validation": {
                "examples": len(setup.validation),
                "scored_per_evaluation": self.evaluated_examples,
                "processes": self.world.world_size,
            },
            "saved": {
                "strategy": self.hps["save_model"],
                "metric_for_best_model": self.hps["metric_for_best_model"],
                "step": final["step"],
            },
        }
        if self.paths.test_channel is not None:
            report["test"] = self.evaluate_test(self.paths.test_channel, model_dir)
        self.paths.output_data_dir.mkdir(parents=True, exist_ok=True)
        (self.paths.output_data_dir / "metrics.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
        print(f"hfst: saved the model to {model_dir} (rank {self.world.rank})", flush=True)
        print_line(self.prefix, self.declared, final)  # last line: the kept model's values (AMT reads the last)
        self.tracker.log(final)
        return final

    def evaluate_test(self, test_channel: Path, model_dir: Path) -> dict[str, float]:
        """Metrics of the saved model on the optional test channel (reported, never used for selection)."""
        import transformers

        setup = self.setup
        test = load_channel(test_channel, "test")
        auto_model = getattr(transformers, self.task.auto_model)
        model = auto_model.from_pretrained(str(model_dir), use_safetensors=True)
        model.to(setup.device)
        collate = Collator(
            test,
            setup.eval_collate.pad_token_id,
            setup.eval_collate.pad_to_multiple_of,
            setup.eval_collate.max_length,
            setup.eval_collate.pin_memory,
        )
        metrics = evaluate(
            model, test, collate, self.hps["per_device_eval_batch_size"], setup.device, setup.precision, self.options
        )
        result = {name.replace("eval_", "test_"): value for name, value in metrics.items()}
        print("hfst: test " + " ".join(f"{k}={v!r}" for k, v in result.items()), flush=True)
        return result


def run_job(
    hps: dict[str, Any],
    paths: ContainerPaths,
    environ: Mapping[str, str] | None = None,
    splits: tuple[TokenizedSplit, TokenizedSplit] | None = None,
) -> dict[str, Any]:
    """Train, evaluate and save; returns the final (kept) evaluation (``splits``: train on these, e.g. a refit's).

    Under torchrun every rank runs this: it joins the process group first (bounded timeout)
    and leaves it after a successful run (a failed rank just exits; torchrun stops the others).
    """
    environ = os.environ if environ is None else environ
    world = distributed.world_from_env(environ)
    device = distributed.device_for(world)
    distributed.start(world, device)
    job = Job(hps, paths, environ, world, device, splits=splits)
    resumed = job.resume()
    config = effective_config(job.setup)
    config["resumed_from_step"] = resumed
    setup = job.setup
    if world.is_main:
        paths.output_data_dir.mkdir(parents=True, exist_ok=True)
        (paths.output_data_dir / "effective_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
        print(
            f"hfst: training {hps['model_name_or_path']} on {config['device']['name']} ({setup.precision.name}), "
            f"{len(setup.train)} train / {len(setup.validation)} validation examples, "
            f"{setup.plan.total_steps} optimizer steps, labels {list(setup.train.label_names)}",
            flush=True,
        )
        print(
            f"hfst: global batch {setup.global_train_batch_size} = per_device_train_batch_size "
            f"{hps['per_device_train_batch_size']} x {world.world_size} process(es) x gradient_accumulation_steps "
            f"{setup.engine.accumulation_steps}"
            + (
                f" (backend {distributed.backend_for(device)}, timeout {world.timeout_seconds:g} s)"
                if world.enabled
                else ""
            ),
            flush=True,
        )
        if resumed is not None:
            print(f"hfst: resumed from the checkpoint in {paths.checkpoint_dir} at step {resumed}", flush=True)
    with tracking.open_tracker(environ, paths, world.is_main) as job.tracker:
        job.train()
        final = job.write_outputs()
    distributed.stop(world)
    return final
