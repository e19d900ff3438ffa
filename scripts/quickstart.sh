#!/usr/bin/env bash
# One command: set everything up (venv, the package with [local], the offline model and data),
# then run the main job end to end on this machine: prepare real tweets, tune MiniLM on the
# local backend, write the HTML report, deploy the best model locally, ask it, undeploy.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "==> setting up .venv (first time: a few minutes)"
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
exec .venv/bin/hfst quickstart "$@"
