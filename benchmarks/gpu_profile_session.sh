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
export PYTHONPATH=$PWD:$PWD/benchmarks PYTHONUNBUFFERED=1
source benchmarks/session_lib.sh

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

stamp "benchmark with profiles: plain, plain-unpinned, eager, eager-unpinned, cudagraphs"
timeout $(($(left) - 110)) $PY benchmarks/gpu.py --out "$OUT/bench" --modes plain,plain-unpinned,eager,eager-unpinned,cudagraphs "${BENCH[@]}" \
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
pack_results timeline.txt bench/results.md cli/summary.json checkpoint_writes.txt train_profile_cli.txt
