#!/usr/bin/env bash
# The quickstart-scale experiments of every finding, all at once on one GPU (each run is small and
# launch-bound, so ~20 of them share one card well). Results: TensorBoard events, summary.json, config.yaml
# per run under $RUNS, packed without checkpoints into $OUT/runs.tar.gz; `factdyn report` reads them.
#
#   OUT=results RUNS=/tmp/runs bash benchmarks/gpu_experiments.sh
#   PREVIEW=1 OUT=/tmp/out RUNS=/tmp/runs bash benchmarks/gpu_experiments.sh   # plumbing check on CPU, tiny
#
# Wave 1 (at once): the quickstart reference run (with attention statistics and checkpoints every 250
# steps), plateau end vs N, Zipf alpha in {0.4, 0.6, 0.8, 1.0}, warm-up and celebrities at the quickstart's
# budget. Wave 2 (once the reference has finished): fine-tuning on new individuals from its last checkpoint
# (no replay, and replay weights 1/4 and 1/16; 50 and 800 new individuals without replay) and attention
# patching from its checkpoints at steps {0, 250, 750, 1250, 3000}. Everything still running at $LIMIT
# seconds is stopped (its events so far are kept).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:?set OUT}
RUNS=${RUNS:-/tmp/factdyn_runs}
LIMIT=${LIMIT:-330}
PY=${PY:-python3}
source benchmarks/session_lib.sh
if [ "${PREVIEW:-0}" = 1 ]; then
  BASE=(--config configs/quickstart.yaml --config configs/presets/tiny.yaml --data.n_individuals 200)
  BASE+=(--trainer.max_steps 16 --trainer.val_check_interval 4 --checkpoints.every_n_steps 4 --checkpoints.dense_until 4)
  DEV=(--trainer.accelerator cpu); REF_STEPS="0 4 8 12 16"; NS="100 200 400 800"; FT_STEPS=4; BIG=40
  WARMUP=25; CELEBS=12
else
  BASE=(--config configs/quickstart.yaml)
  DEV=(--trainer.accelerator gpu --trainer.devices 1); REF_STEPS="0 250 750 1250 3000"; NS="1000 2000 4000 8000 16000"
  FT_STEPS=1000; BIG=8000; WARMUP=375; CELEBS=188  # N/8 for 3 epochs; N/16 at weight 8 (as the paper)
fi
COMMON=(--trainer.enable_progress_bar false --trainer.logger.init_args.save_dir "$RUNS" --trainer.logger.init_args.version 0)
export OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1

run() {  # run NAME ARGS...: one background fit, its output in $RUNS/NAME.log
  local name=$1; shift
  stamp "start $name"
  $PY -m factdyn.cli fit "${BASE[@]}" "$@" "${DEV[@]}" "${COMMON[@]}" --trainer.logger.init_args.name "$name" \
    >"$RUNS/$name.log" 2>&1 &
}

# Wave 1
run reference --config configs/experiments/attention_statistics.yaml
for n in $NS; do
  run "plateau_n$n" --data.n_individuals "$n" --trainer.max_steps "$BIG" \
    --phases.knowledge_accuracy 0.2 --phases.stop_on_knowledge true
done
for a in 0.4 0.6 0.8 1.0; do run "zipf_a$a" --data.sampler Zipf --data.sampler.alpha "$a"; done
run warmup --data.sampler WarmUp --data.sampler.warmup_individuals "$WARMUP" --data.sampler.warmup_epochs 3
run celebrities --data.sampler Celebrities --data.sampler.n_celebrities "$CELEBS" --data.sampler.weight 8

# Wave 2, after the reference run wrote its summary
REF="$RUNS/reference/version_0"
while [ ! -f "$REF/summary.json" ] && [ "$(left)" -gt 0 ]; do sleep 2; done
if [ -f "$REF/summary.json" ]; then
  FT=(--config configs/experiments/finetune.yaml --model.init_checkpoint "$REF/checkpoints/last.ckpt" --trainer.max_steps "$FT_STEPS")
  run ft_new200_w0 "${FT[@]}" --data.sampler.replay_weight 0
  run ft_new200_w0.25 "${FT[@]}" --data.sampler.replay_weight 0.25
  run ft_new200_w0.0625 "${FT[@]}" --data.sampler.replay_weight 0.0625
  run ft_new50_w0 "${FT[@]}" --data.n_new 50 --data.sampler.replay_weight 0
  run ft_new800_w0 "${FT[@]}" --data.n_new 800 --data.sampler.replay_weight 0
  for s in $REF_STEPS; do
    cfg="$RUNS/patch_ref$s.yaml"
    sed -e "s#reference_checkpoint: .*#reference_checkpoint: $REF#" -e "s#reference_step: .*#reference_step: $s#" \
      configs/experiments/attention_patching.yaml >"$cfg"
    run "patch_ref$s" --config "$cfg"
  done
fi

# Wait for everything, up to the limit; then stop what is left.
while [ -n "$(jobs -rp)" ] && [ "$(left)" -gt 0 ]; do sleep 2; done
for pid in $(jobs -rp); do kill "$pid" 2>/dev/null; done
sleep 3
stamp "done; unfinished: $(cd "$RUNS" && for d in */version_0; do [ -f "$d/summary.json" ] || printf '%s ' "${d%/version_0}"; done)"
tar -czf "$OUT/runs.tar.gz" --exclude='*.ckpt' --exclude='*.ckpt.sha256' --exclude='*.tmp' -C "$RUNS" .
ls -la "$OUT"
