#!/usr/bin/env bash
# Wheels a lent GPU machine's image lacks: it has torch, lightning, torchmetrics and tensorboard, not
# jsonargparse and its signature helpers. It has no network, so they travel with the call in .whl/
# (git-ignored): run this once here, then pass carry [".whl"]; benchmarks/gpu_*session.sh install them.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
"$PY" -m pip download --no-deps --only-binary=:all: --python-version "${DEVICE_PYTHON:-3.12}" -d .whl \
  jsonargparse==4.53.0 docstring-parser==0.18.0 typeshed-client==2.15.0
