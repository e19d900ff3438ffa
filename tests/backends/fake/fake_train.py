"""An honest fake training script for backend tests (imports only the standard library).

It reads hyperparameters like the real entry point (``--name value``), computes an
objective from them plus seeded noise, and prints one metric line per epoch in the
training package's format. ``mode`` selects a behaviour: ok, crash, failure_file, kill,
hang, stubborn (hangs and ignores SIGTERM), silent, nan. It also records the environment it saw
(names only) for contract checks. Under torchrun (``RANK`` set) rank 0 alone prints metric lines,
as the training package does, and each other rank records what it saw in ``seen-rank<N>.json``.
"""

import json
import math
import os
import random
import signal
import sys
import time
from pathlib import Path


def parse(argv):
    out = {}
    for i in range(0, len(argv), 2):
        out[argv[i].lstrip("-")] = argv[i + 1]
    return out


def main() -> int:
    hps = parse(sys.argv[1:])
    rank = int(os.environ.get("RANK", "0"))
    out_dir = Path(os.environ["SM_OUTPUT_DATA_DIR"])
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / ("seen.json" if rank == 0 else f"seen-rank{rank}.json")).write_text(
        json.dumps(
            {
                "env": sorted(os.environ),
                "hps": hps,
                "sm_hps": json.loads(os.environ["SM_HPS"]),
                "channels": {c: os.path.isdir(os.environ[f"SM_CHANNEL_{c.upper()}"]) for c in ("train", "validation")},
                "cwd": os.getcwd(),
                "threads": os.environ.get("OMP_NUM_THREADS"),
                "cuda": os.environ.get("CUDA_VISIBLE_DEVICES"),
                "rank": rank,
                "world_size": os.environ.get("WORLD_SIZE"),
                "pid": os.getpid(),
            }
        )
    )
    mode = hps.get("mode", "ok")
    x = float(hps.get("x", 0.5))
    y = float(hps.get("y", 0.5))
    bonus = {"a": 0.0, "b": 0.05, "c": 0.1}.get(hps.get("opt", "a"), 0.0)
    rng = random.Random(f"{hps.get('seed', '0')}-{x}-{y}")
    final = 1.0 - (x - 0.3) ** 2 - (y - 0.7) ** 2 + bonus + rng.gauss(0, 0.002)
    epochs = int(float(hps.get("epochs", "3")))
    delay = float(os.environ.get("HFST_TEST_EPOCH_SECONDS", "0.02"))
    if mode == "crash":
        raise RuntimeError("CUDA error: an illegal memory access was encountered (fake)")
    if mode == "failure_file":
        Path(os.environ["SM_OUTPUT_DIR"], "failure").write_text("NonFiniteLossError: loss is nan at step 7")
        return 1
    if mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if mode == "hang":
        time.sleep(3600)
    if mode == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        time.sleep(3600)
    for epoch in range(1, epochs + 1):
        time.sleep(delay)
        value = final - 0.3 / epoch
        if rank != 0:
            continue
        if mode == "silent":
            print(f"epoch {epoch} done", flush=True)
            continue
        shown = "nan" if mode == "nan" else repr(value)
        print(f"hfst_metric epoch={epoch} step={epoch * 10} score={shown} eval_loss={math.exp(-value)!r}", flush=True)
    if rank == 0:
        Path(os.environ["SM_MODEL_DIR"], "config.json").write_text(json.dumps({"score": final}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
