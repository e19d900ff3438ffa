#!/usr/bin/env bash
# One command: set everything up, then lint, type-check and run the whole test suite.
# Extra arguments go to pytest (e.g. scripts/test.sh -k compile).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
