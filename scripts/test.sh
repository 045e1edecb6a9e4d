#!/usr/bin/env bash
# Install (if needed) and run the default test suite (slow tests excluded; `-m slow` runs them).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
# shellcheck disable=SC1091
source .venv/bin/activate
ruff check factdyn tests benchmarks
python -m pytest -q "$@"
