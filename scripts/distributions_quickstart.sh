#!/usr/bin/env bash
# Quickstart-scale comparison of training distributions (paper Section 3, Fig. 4 / Figs. G-I in small):
# uniform vs Zipf alpha in {0.4, 0.6, 0.8, 1.0} vs warm-up (and celebrities), one run at a time.
#   bash scripts/distributions_quickstart.sh [extra factdyn args...]
# Runs land in logs/distributions/<name>/version_*; compare val/attr_loss, val/attr_acc and the
# val/attr_loss/bucket_<k> curves in TensorBoard, or read summary.json (final metrics, exposures).
# Runs are sequential on purpose: two trainings at once on 2 cores are ~5x slower each.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
BASE="${BASE:-configs/quickstart.yaml}"  # BASE=configs/presets/tiny.yaml for a smoke test

run() {
  local name="$1"; shift
  echo "=== $name ==="
  factdyn fit --config "$BASE" "$@" \
    --trainer.logger.init_args.save_dir logs/distributions --trainer.logger.init_args.name "$name" \
    "${EXTRA[@]}"
}

EXTRA=("$@")
run uniform
for alpha in 0.4 0.6 0.8 1.0; do
  run "zipf_${alpha}" --config configs/experiments/zipf.yaml --data.sampler.alpha "$alpha"
done
run warmup --config configs/experiments/warmup.yaml
run celebrities --config configs/experiments/celebrities.yaml

python - <<'PY'
import json
from pathlib import Path

print(f"\n{'run':<14} {'val/attr_loss':>13} {'val/attr_acc':>12} {'rarest decile':>13} {'top decile':>10}")
for path in sorted(Path("logs/distributions").glob("*/version_*/summary.json")):
    s = json.loads(path.read_text())
    f, e = s["final"], s.get("exposures", {})
    print(f"{path.parts[-3]:<14} {f.get('val/attr_loss', float('nan')):>13.4f} "
          f"{f.get('val/attr_acc', float('nan')):>12.4f} {e.get('rarest_decile', 0):>13.1f} {e.get('top_decile', 0):>10.1f}")
PY
