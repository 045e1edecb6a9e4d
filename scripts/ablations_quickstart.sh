#!/usr/bin/env bash
# Robustness ablations at quickstart scale: paper Fig. A (templates per individual, fixed order) and the
# Fig. C mixer panel (Hawk), then a table of phases and final losses.
#
#   scripts/ablations_quickstart.sh [extra factdyn fit arguments, passed to every run]
#   JOBS=8 scripts/ablations_quickstart.sh --trainer.accelerator gpu     # all runs at once on one GPU
#
# Runs (each the quickstart config plus one change; same seed, so the same initial parameters):
#   templates_{1,2,4,8,16}   data.n_templates_train = k            (configs/experiments/templates_<k>.yaml)
#   templates_20             the quickstart itself (20 training templates, the paper's default)
#   fixed_order_16           16 templates, sentences never shuffled (templates_16 + fixed_order)
#   mixer_hawk               every attention block replaced by Hawk (configs/experiments/mixer_hawk.yaml)
# Runs land in $LOGS/$NAME/<run>; finished runs (with summary.json) are skipped, so the script resumes.
# Table: python -m factdyn.analysis.ablations $LOGS/$NAME
#
# Environment: CONFIG (configs/quickstart.yaml), LOGS (logs), NAME (ablations), FACTDYN (factdyn), PYTHON
# (python, for the table), RUNS (all of the above,
# space-separated), JOBS (1: one run at a time; more only where there are cores or a GPU to share).
set -euo pipefail

CONFIG=${CONFIG:-configs/quickstart.yaml}
LOGS=${LOGS:-logs}
NAME=${NAME:-ablations}
JOBS=${JOBS:-1}
FACTDYN=${FACTDYN:-factdyn}
RUNS=${RUNS:-"templates_1 templates_2 templates_4 templates_8 templates_16 templates_20 fixed_order_16 mixer_hawk"}
EXP=configs/experiments

configs_for() {
  case "$1" in
    templates_20) ;;
    templates_*) echo "--config $EXP/$1.yaml" ;;
    fixed_order_16) echo "--config $EXP/templates_16.yaml --config $EXP/fixed_order.yaml" ;;
    mixer_hawk) echo "--config $EXP/mixer_hawk.yaml" ;;
    *) echo "unknown run $1" >&2; return 1 ;;
  esac
}

run_one() {
  local run=$1; shift
  local dir="$LOGS/$NAME/$run"
  if [[ -f "$dir/summary.json" ]]; then
    echo "== $run: done, skipped"
    return 0
  fi
  local extra
  extra=$(configs_for "$run")
  echo "== $run -> $dir"
  mkdir -p "$LOGS/$NAME"
  # shellcheck disable=SC2086
  $FACTDYN fit --config "$CONFIG" $extra --trainer.logger.init_args.save_dir "$LOGS" \
    --trainer.logger.init_args.name "$NAME" --trainer.logger.init_args.version "$run" \
    --trainer.enable_progress_bar false "$@" >"$LOGS/$NAME/$run.log" 2>&1 \
    || { echo "== $run FAILED, see $LOGS/$NAME/$run.log"; return 1; }
  echo "== $run finished"
}

for run in $RUNS; do configs_for "$run" >/dev/null; done  # fail on an unknown name before any training
for run in $RUNS; do
  while (( $(jobs -rp | wc -l) >= JOBS )); do wait -n || true; done
  run_one "$run" "$@" &
done
wait
${PYTHON:-python} -m factdyn.analysis.ablations "$LOGS/$NAME"
for run in $RUNS; do [[ -f "$LOGS/$NAME/$run/summary.json" ]] || exit 1; done
