#!/usr/bin/env bash
# A short GPU call (about 3 minutes on one H100) that says where a training step's time goes:
#   1. benchmarks/gpu.py: plain loop and eager fit, each with and without pinned batches, and CUDA graphs,
#      each timed, then profiled (--profile-train);
#   2. the CLI on the paper config with configs/presets/gpu_fast.yaml for $CLI_STEPS steps (every forced
#      callback, evaluations, background checkpoints), profiled over 20 steps; its events and summary;
#   3. benchmarks/checkpoint_writes.py on the GPU: how long training waits per checkpoint.
#
#   OUT=results/gpu_profile bash benchmarks/gpu_profile_session.sh
#   PREVIEW=1 OUT=/tmp/gpu_profile bash benchmarks/gpu_profile_session.sh     # plumbing check on CPU
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:?set OUT}
RUNS=${RUNS:-/tmp/factdyn_gpu_profile}
LIMIT=${LIMIT:-280}
CLI_STEPS=${CLI_STEPS:-2000}
PY=${PY:-python3}
mkdir -p "$OUT" "$RUNS"
export PYTHONPATH=$PWD:$PWD/benchmarks PYTHONUNBUFFERED=1
START=$(date +%s)
left() { echo $((LIMIT - ($(date +%s) - START))); }
stamp() { echo "[$(($(date +%s) - START))s] $*" | tee -a "$OUT/timeline.txt"; }
if ls .whl/*.whl >/dev/null 2>&1; then $PY -m pip install -q --no-index --no-deps .whl/*.whl; fi

if [ "${PREVIEW:-0}" = 1 ]; then
  BENCH=(--device cpu --preset tiny --steps 6 --warmup 2 --precision 32-true --workers 1 --data-seconds 0.3
         --compile-backend eager --profile-train 3)
  RUN=(--config configs/presets/tiny.yaml --trainer.accelerator cpu --trainer.precision 32-true)
  PROFILE_AT=4; PROFILE_N=3; CLI_STEPS=12; CKPT=(--rounds 1)
else
  BENCH=(--steps 200 --warmup 40 --workers 4 --data-seconds 1 --profile-train 20)
  RUN=(--config configs/paper.yaml --config configs/presets/gpu_fast.yaml --trainer.accelerator gpu --trainer.devices 1)
  PROFILE_AT=1100; PROFILE_N=20; CKPT=(--device cuda --rounds 3)
fi

stamp "benchmark with profiles: plain, plain-pinned, eager, eager-unpinned, cudagraphs"
timeout $(($(left) - 110)) $PY benchmarks/gpu.py --out "$OUT/bench" --modes plain,plain-pinned,eager,eager-unpinned,cudagraphs "${BENCH[@]}" \
  >"$OUT/bench.log" 2>&1
tail -n 9 "$OUT/bench.log"

stamp "CLI, $CLI_STEPS steps"
timeout $(($(left) - 40)) $PY -m factdyn.cli fit "${RUN[@]}" --trainer.max_steps "$CLI_STEPS" \
  --trainer.enable_progress_bar false --trainer.logger.init_args.save_dir "$RUNS" \
  --trainer.logger.init_args.name cli --trainer.callbacks+=step_profile.StepProfileCallback \
  --trainer.callbacks.start "$PROFILE_AT" --trainer.callbacks.n "$PROFILE_N" --trainer.callbacks.path "$OUT/train_profile_cli.txt" \
  >"$OUT/cli.log" 2>&1
echo "exit $?" >>"$OUT/cli.log"
tail -n 12 "$OUT/cli.log"
RUN_DIR=$(ls -d "$RUNS"/cli/version_* 2>/dev/null | tail -n 1)
[ -n "$RUN_DIR" ] && mkdir -p "$OUT/cli" && cp "$RUN_DIR"/summary.json "$RUN_DIR"/events.* "$OUT/cli/" 2>/dev/null

stamp "checkpoint writes (time left $(left) s)"
timeout $(($(left) - 3)) $PY benchmarks/checkpoint_writes.py "${CKPT[@]}" 2>&1 | tee "$OUT/checkpoint_writes.txt"
stamp "done"
KEEP="timeline.txt bench/results.md cli/summary.json checkpoint_writes.txt train_profile_cli.txt"
# The device tool returns at most 8 files: everything goes into one archive, and $OUT keeps only the
# archive and the summaries (a run cut short leaves its raw files instead).
tar czf /tmp/results.tar.gz -C "$OUT" . || exit 1
rm -rf /tmp/keep && mkdir -p /tmp/keep && for f in $KEEP; do [ -f "$OUT/$f" ] && cp "$OUT/$f" "/tmp/keep/$(echo "$f" | tr / _)"; done
rm -rf "${OUT:?}"/* && mv /tmp/results.tar.gz "$OUT/" && mv /tmp/keep/* "$OUT/" 2>/dev/null
ls "$OUT"
