#!/usr/bin/env bash
# Plateau end vs N (paper Fig. 2 right) at quickstart scale, from nothing: the sweep, then the report.
#   bash scripts/reproduce_plateau_vs_n.sh [--parallel 2]     (extra arguments go to `factdyn sweep`)
# Interrupt it at any time (Ctrl-C) and run it again: finished runs are skipped, interrupted ones resume.
set -euo pipefail
cd "$(dirname "$0")/.."
SWEEP=configs/sweeps/plateau_vs_n_quickstart.yaml
OUT=reports/plateau_vs_n_quickstart
start=$(date +%s)
factdyn sweep "$SWEEP" "$@"
factdyn report logs/sweeps/plateau_vs_n_quickstart --out "$OUT" --title "Plateau end vs N (quickstart scale)"
echo "[reproduce] sweep + report took $(( $(date +%s) - start )) s; see $OUT/report.md and $OUT/plateau_vs_n.png"
