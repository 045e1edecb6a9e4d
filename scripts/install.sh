#!/usr/bin/env bash
# Create .venv and install factdyn with the CPU build of torch (a bare `torch` requirement would pull a
# multi-GB CUDA build). Choose another build with FACTDYN_TORCH, e.g. FACTDYN_TORCH="torch==2.13.0" on a GPU
# machine whose default wheel is CUDA (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -d .venv ] || "$PYTHON" -m venv .venv
# shellcheck disable=SC1091
source .venv/bin/activate
if ! python -c "import torch" >/dev/null 2>&1; then
  # shellcheck disable=SC2086
  python -m pip install -q ${FACTDYN_TORCH:-torch==2.13.0}
fi
python -m pip install -q -e ".[test,analysis]"
