# Shared by the GPU session and experiment scripts (sourced from the repository root, after OUT, RUNS, LIMIT
# and PY are set): the time budget, a timeline, the carried wheels, and packing $OUT for the device tool.
mkdir -p "$OUT" "$RUNS"
START=$(date +%s)
left() { echo $((LIMIT - ($(date +%s) - START))); }  # seconds of the budget still free
stamp() { echo "[$(($(date +%s) - START))s] $*" | tee -a "$OUT/timeline.txt"; }
# Wheels the device image lacks (jsonargparse and its helpers), carried in .whl/ (scripts/device_wheels.sh).
if ls .whl/*.whl >/dev/null 2>&1; then $PY -m pip install -q --no-index --no-deps .whl/*.whl; fi

# pack_results FILE...: the device tool returns at most 8 files, so everything goes into one archive and
# $OUT keeps only the archive and the named summaries (a run cut short leaves its raw files instead).
pack_results() {
  tar czf /tmp/results.tar.gz -C "$OUT" . || return 1
  rm -rf /tmp/keep && mkdir -p /tmp/keep
  for f in "$@"; do [ -f "$OUT/$f" ] && cp "$OUT/$f" "/tmp/keep/$(echo "$f" | tr / _)"; done
  rm -rf "${OUT:?}"/* && mv /tmp/results.tar.gz "$OUT/" && mv /tmp/keep/* "$OUT/" 2>/dev/null
  ls "$OUT"
}
