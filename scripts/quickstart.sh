#!/usr/bin/env bash
# Install (if needed) and run the CPU quickstart: the three phases in a few minutes, then a printed summary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
# shellcheck disable=SC1091
source .venv/bin/activate
factdyn fit --config configs/quickstart.yaml "$@"
