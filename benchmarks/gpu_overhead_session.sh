#!/usr/bin/env bash
# The Lightning overhead on the GPU (about 5 minutes on one H100): `factdyn fit` against a hand-written loop
# on the same model, batches, pinning and precision, on each path, 3 runs of each in turn, medians:
#   1. eager (plain / eager) and CUDA graphs as configs/presets/gpu_fast.yaml sets them
#      (plain-cudagraphs / cudagraphs);
#   2. if time is left: CUDA graphs on a few shapes (compile_dynamic true, pad_to_multiple 8), one run each.
#
#   OUT=results/gpu_overhead bash benchmarks/gpu_overhead_session.sh
#   PREVIEW=1 OUT=/tmp/gpu_overhead bash benchmarks/gpu_overhead_session.sh     # plumbing check on CPU
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:?set OUT}
RUNS=${RUNS:-/tmp/factdyn_gpu_overhead}
LIMIT=${LIMIT:-330}
PY=${PY:-python3}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
source benchmarks/session_lib.sh

if [ "${PREVIEW:-0}" = 1 ]; then
  BENCH=(--device cpu --preset tiny --steps 6 --warmup 2 --precision 32-true --workers 1 --data-seconds 0.3
         --compile-backend eager)
else
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv >"$OUT/gpu.txt" 2>&1
  BENCH=(--steps 300 --warmup 40 --workers 4 --data-seconds 1)
fi

stamp "fit vs plain loop, 3 runs each: eager, cudagraphs"
timeout $(($(left) - 10)) $PY benchmarks/gpu.py --out "$OUT/pairs" --modes plain,eager,plain-cudagraphs,cudagraphs \
  --repeats 3 "${BENCH[@]}" >"$OUT/pairs.log" 2>&1
tail -n 12 "$OUT/pairs.log"
if [ "$(left)" -gt 110 ]; then
  stamp "fit vs plain loop: compiled-reduce-overhead (time left: $(left) s)"
  timeout $(($(left) - 10)) $PY benchmarks/gpu.py --out "$OUT/shapes" \
    --modes plain-compiled-reduce-overhead,compiled-reduce-overhead "${BENCH[@]}" >"$OUT/shapes.log" 2>&1
  tail -n 6 "$OUT/shapes.log"
fi
stamp "done"
pack_results timeline.txt gpu.txt pairs/results.md shapes/results.md
