#!/usr/bin/env bash
# Attention patching at quickstart scale: paper Fig. 3 (left/middle), Fig. D (middle, right) and Fig. F.
#
#   scripts/patching_quickstart.sh [extra factdyn fit arguments, passed to every run]
#
# 1. trains the reference run (the quickstart config, with attention statistics and extra checkpoints);
# 2. for every start step S in $STARTS and reference step R in $REFS, retrains from the same initial
#    parameters on the same samples (same seed) with the attention patterns of the reference's step-R
#    checkpoint from step S on. The row S = 0 is Fig. 3 middle / Fig. D left; the diagonal S = R is
#    Fig. D middle (attention frozen at R); the whole grid is Fig. D right.
# Runs land in $LOGS/$NAME/{reference,ref<R>_start<S>}; finished runs (with summary.json) are skipped, so an
# interrupted sweep resumes where it stopped. Results: `python -m factdyn.analysis.patching $LOGS/$NAME`.
#
# Environment (defaults for configs/quickstart.yaml, 2000 steps):
#   CONFIG            base config                                   (configs/quickstart.yaml)
#   REFS              reference steps: 0, early, mid-plateau, end of plateau, end   ("0 250 500 750 2000": the quickstart's phases)
#   STARTS            patching start steps                          ("0 250 500 750")
#   CHECKPOINT_EVERY  reference checkpoint period after the dense log-spaced part (250); every step in
#                     REFS must be a checkpoint: 0, powers of two up to checkpoints.dense_until, multiples
#                     of CHECKPOINT_EVERY, or the last step
#   LOGS, NAME        where runs go                                 (logs, patching)
# Pick REFS from the reference run's own phases when they differ from the defaults (its val/attr_loss curve
# and attn/attr_to_name/layer_<last>): early = before the loss reaches the baseline, mid-plateau, end of
# plateau = where attr_to_name of the last layer saturates, end = last step.
set -euo pipefail

CONFIG=${CONFIG:-configs/quickstart.yaml}
REFS=${REFS-"0 250 500 750 2000"}
STARTS=${STARTS-"0 250 500 750"}
CHECKPOINT_EVERY=${CHECKPOINT_EVERY:-250}
LOGS=${LOGS:-logs}
NAME=${NAME:-patching}
FACTDYN=${FACTDYN:-factdyn}

run_dir() { echo "$LOGS/$NAME/$1"; }
finished() { [[ -f "$(run_dir "$1")/summary.json" ]]; }

common=(--config "$CONFIG" --trainer.logger.init_args.save_dir "$LOGS" --trainer.logger.init_args.name "$NAME")

if ! finished reference; then
  echo "== reference run -> $(run_dir reference)"
  $FACTDYN fit "${common[@]}" --config configs/experiments/attention_statistics.yaml \
    --checkpoints.every_n_steps "$CHECKPOINT_EVERY" --trainer.logger.init_args.version reference "$@"
fi

for start in $STARTS; do
  for ref in $REFS; do
    version="ref${ref}_start${start}"
    if finished "$version"; then
      echo "== $version: done, skipped"
      continue
    fi
    echo "== $version -> $(run_dir "$version")"
    $FACTDYN fit "${common[@]}" --config configs/experiments/attention_patching.yaml \
      --trainer.callbacks.init_args.reference_checkpoint "$(run_dir reference)" \
      --trainer.callbacks.init_args.reference_step "$ref" \
      --trainer.callbacks.init_args.start_step "$start" \
      --checkpoints.every_n_steps 0 --checkpoints.dense_until 0 \
      --trainer.logger.init_args.version "$version" "$@"
  done
done
echo "== all runs in $LOGS/$NAME"
