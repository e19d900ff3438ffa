#!/usr/bin/env bash
# One command: set everything up, then lint, type-check, build the fidelity environments and run the
# whole test suite (the fidelity tier included).
# Extra arguments go to pytest (e.g. scripts/test.sh -k compile).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
# The fidelity tier's environments (AWS's training toolkit and Hugging Face inference handler at the
# containers' versions, tests/fidelity/versions.json), built once into .fidelity/ and reused.
.venv/bin/python scripts/fidelity_envs.py
.venv/bin/python -m pytest "$@"
