#!/usr/bin/env bash
# Every figure and table of reports/<experiment>/ from the committed archive results/<experiment>/:
#   bash scripts/reports_from_results.sh [experiment...]      (default: every folder of results/)
# tests/test_committed_evidence.py regenerates each report.md and compares it with the committed one.
set -euo pipefail
cd "$(dirname "$0")/.."
FACTDYN=${FACTDYN:-factdyn}
experiments=("$@")
((${#experiments[@]})) || for d in results/*/; do experiments+=("$(basename "$d")"); done
# The patching figure compares with the unpatched reference runs, which are the quickstart's; the
# distributions and robustness figures with the quickstart as their uniform / 20-template reference, and
# robustness also with the fixed-order runs (REPRODUCTION §7 reads its fixed-order row from them).
inputs_for() {
  case $1 in
    patching | distributions) echo "results/$1 results/quickstart" ;;
    robustness) echo "results/$1 results/quickstart results/fixed_order" ;;
    *) echo "results/$1" ;;
  esac
}
for experiment in "${experiments[@]}"; do
  # shellcheck disable=SC2046
  $FACTDYN report $(inputs_for "$experiment") --out "reports/$experiment" --title "$experiment (results/$experiment)"
done
