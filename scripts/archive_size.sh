#!/usr/bin/env bash
# The size of the committed results archive, per experiment and per run, into reports/evidence/archive_size.txt:
#   bash scripts/archive_size.sh        (after archiving runs; commit the file with them)
# A run is a folder holding archive.json; its size is the sum of its files.
set -euo pipefail
cd "$(dirname "$0")/.."
out=reports/evidence/archive_size.txt
{
  echo "# Size of the committed results archive (scripts/archive_size.sh), $(date +%F)"
  find results -type f -printf '%s\n' | awk '{s += $1; n++} END {printf "%.1f kB in %d files\n", s / 1000, n}'
  echo "runs: $(find results -name archive.json | wc -l)"
  for experiment in results/*/; do
    find "$experiment" -name archive.json -printf '%h\n' | sort | while read -r run; do
      find "$run" -type f -printf '%s\n' | awk '{s += $1} END {print s}'
    done | awk -v e="$experiment" '{t += $1; n++; if (n == 1 || $1 < lo) lo = $1; if ($1 > hi) hi = $1}
      END {printf "%s: %.1f kB, %d runs, %.1f to %.1f kB per run\n", e, t / 1000, n, lo / 1000, hi / 1000}'
  done
} >"$out"
cat "$out"
