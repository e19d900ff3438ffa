#!/usr/bin/env bash
# One command: set everything up, then lint, type-check, build the fidelity environments and run the
# whole test suite (the fidelity tier included).
# Extra arguments go to pytest (e.g. scripts/test.sh -k compile).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
# mypy's incremental cache outside the clone, so a fresh clone (CI's) does not type-check torch,
# transformers and pydantic from scratch (on 2 cores: about 70 s cold, a few seconds warm at the same
# path, ~35 s for a clone at another path); mypy re-checks whatever changed, by content.
# MYPY_CACHE_DIR, when set, is used instead.
export MYPY_CACHE_DIR="${MYPY_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/hf-sagemaker-tuning/mypy}"
.venv/bin/mypy
# The fidelity tier's environments (AWS's training toolkit and Hugging Face inference handler at the
# containers' versions, tests/fidelity/versions.json), built once and reused. They live outside the
# clone (about 5 GB, a few minutes to build), in a folder keyed by versions.json and the interpreter,
# so every clone on this machine (CI's fresh one each run included) reuses them; HFST_FIDELITY_DIR,
# when set, is used instead. The lock keeps two runs from building the same folder at once.
if [ -z "${HFST_FIDELITY_DIR:-}" ]; then
  key=$( { cat tests/fidelity/versions.json; .venv/bin/python -c 'import sys; print(sys.version)'; } | sha256sum | cut -c1-16)
  HFST_FIDELITY_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/hf-sagemaker-tuning/fidelity/$key"
fi
export HFST_FIDELITY_DIR
mkdir -p "$HFST_FIDELITY_DIR"
if command -v flock >/dev/null; then
  flock "$HFST_FIDELITY_DIR/.build.lock" .venv/bin/python scripts/fidelity_envs.py
else  # no util-linux (macOS): build unlocked
  .venv/bin/python scripts/fidelity_envs.py
fi
# Two pytest-xdist workers (HFST_TEST_WORKERS changes the number; 0 runs in this process): on two cores
# the suite's single-threaded torch tests and its waiting (coordinators, trials, endpoints) overlap.
# --dist loadfile keeps each test file on one worker, so module-scoped fixtures (a DDP run shared by
# four tests, the hostile-endpoint server) are built once. --no-loadscope-reorder hands the files out
# in collection order, which tests/conftest.py sets to the files with the most slow tests first (xdist
# would otherwise order them by test count, leaving files of a few long tests for the end, run by one
# worker while the other idles). Arguments given here come last, so `scripts/test.sh -n 0` runs serially.
.venv/bin/python -m pytest -n "${HFST_TEST_WORKERS:-2}" --dist loadfile --no-loadscope-reorder "$@"
