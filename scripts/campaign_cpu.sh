#!/usr/bin/env bash
# The CPU campaign behind REPRODUCTION.md: each experiment on three seeds, archived into results/.
#
#   bash scripts/campaign_cpu.sh <experiment>... [-- extra factdyn fit arguments]
#   experiments: quickstart patching finetuning toy distributions plateau_vs_n robustness finetuning_drop
#                plateau_vs_n_constant substrate fixed_order   (or: all)
#
# Every run is an ordinary `factdyn fit` (or `factdyn toy fit`) writing under $LOGS (logs/campaign). A run
# already archived in results/ is skipped, and so is one finished under $LOGS, so an interrupted campaign
# resumes where it stopped, on this machine or on a fresh clone (the run that was interrupted starts again).
# A reference (quickstart) run whose checkpoints a patching or fine-tuning run needs is rerun when its run
# directory is gone; it is deterministic, so it comes out as archived. After each experiment its finished runs are archived with `factdyn archive`
# into results/<experiment>/seed_<s>/ and `factdyn evidence` rewrites REPRODUCTION.md's tables; commit
# results/ and REPRODUCTION.md.
#
# Environment: SEEDS ("0 1 2"), LOGS (logs/campaign), JOBS (2: runs of one step at a time, each on
# THREADS=1 thread; this project's CPU machines have 2 cores), FACTDYN (factdyn).
#
#   quickstart    configs/quickstart.yaml + attention statistics + checkpoints every 250 steps: the patching
#                 reference, and the quickstart of §1 and §4 (measuring changes no training step)
#   patching      per seed, retrain from step 0 with the reference's patterns of steps $REFS
#   finetuning    per seed, from the quickstart's last.ckpt: 125 new people with replay 0, 1/16, 1/4, and
#                 32 / 500 new people without replay
#   toy           per seed, the toy memory: pre-training, then 32 / 128 / 512 new pairs, 128 with replay
#   distributions Zipf α 0.4 / 0.6 / 0.8 / 1.0, celebrities, warm-up (configs/sweeps/campaign_distributions.yaml)
#   plateau_vs_n  N = 1k ... 16k on one 8,000-step schedule (configs/sweeps/campaign_plateau_vs_n.yaml)
#   robustness    templates 1 ... 16, Hawk (configs/sweeps/campaign_robustness.yaml; the fixed-order row is
#                 fixed_order's learned-positions runs)
#   finetuning_drop  issue 16 (e): 125 new people, replay 0 and 1/4, with AdamW's moments kept
#                 (model.init_optimizer_state) or fresh, at the fine-tuning lr and at 1/10 of it
#   plateau_vs_n_constant  issue 16 (c): plateau end vs N with a constant learning rate after the warm-up
#                 (configs/sweeps/campaign_plateau_vs_n_constant.yaml)
#   substrate     issue 16 (a): per-layer attention statistics under {word, subword} x {learned, rotary}
#                 (configs/sweeps/campaign_substrate.yaml; word x learned is the quickstart reference)
#   fixed_order   issue 16 (b): trained in a fixed sentence order with learned or rotary positions
#                 (configs/sweeps/campaign_fixed_order.yaml), then every checkpoint of each run evaluated
#                 on shuffled biographies (factdyn validate --data.shuffle_sentences true, into <run>/eval/)
# Sweep experiments skip runs archived in results/<experiment> (factdyn sweep --skip-archived).
set -euo pipefail
cd "$(dirname "$0")/.."

SEEDS=${SEEDS:-"0 1 2"}
LOGS=${LOGS:-logs/campaign}
JOBS=${JOBS:-2}
THREADS=${THREADS:-1}
FACTDYN=${FACTDYN:-factdyn}
REFS=${REFS:-"0 250 500 750 2000"}
FINETUNE_RUNS="125:0 125:0.25 125:0.0625 32:0 500:0"   # new people : replay weight
# replay weight : keep AdamW's moments : lr (fresh moments at the config's 2e-4 are finetuning's runs)
DROP_RUNS="0:false:2e-5 0.25:false:2e-5 0:true:2e-4 0.25:true:2e-4 0:true:2e-5 0.25:true:2e-5"
export OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS

experiments=()
while (($#)) && [[ $1 != -- ]]; do experiments+=("$1"); shift; done
[[ ${1:-} == -- ]] && shift
extra=("$@")
[[ ${experiments[*]:-} == all ]] && experiments=(quickstart patching finetuning toy distributions plateau_vs_n robustness finetuning_drop plateau_vs_n_constant substrate fixed_order)
((${#experiments[@]})) || { echo "usage: $0 <experiment>... (quickstart patching finetuning toy distributions plateau_vs_n robustness finetuning_drop plateau_vs_n_constant substrate fixed_order | all)" >&2; exit 2; }

finished() { [[ -f "$1/summary.json" ]]; }
archived() { [[ -f "results/$1/archive.json" ]]; }   # archived <experiment>/seed_<s>/<run>

# Run "$@" in the background once fewer than $JOBS runs are going; `wait` collects them.
spawn() {
  while (($(jobs -rp | wc -l) >= JOBS)); do wait -n || true; done
  "$@" &
}

reference_dir() { echo "$LOGS/patching_seed$1/reference"; }

run_reference() {  # run_reference <seed> [checkpoints]: with "checkpoints", only a run directory will do
  local seed=$1 dir
  dir=$(reference_dir "$seed")
  finished "$dir" && return 0
  [[ ${2:-} != checkpoints ]] && archived "quickstart/seed_$seed/reference" && return 0
  mkdir -p "$LOGS/patching_seed$seed"
  LOGS=$LOGS NAME=patching_seed$seed STARTS="" FACTDYN=$FACTDYN bash scripts/patching_quickstart.sh \
    --seed_everything "$seed" --trainer.enable_progress_bar false "${extra[@]}" \
    >"$LOGS/patching_seed$seed/reference.log" 2>&1
}

run_patched() {
  local seed=$1 ref=$2
  finished "$LOGS/patching_seed$seed/ref${ref}_start0" && return 0
  archived "patching/seed_$seed/ref${ref}_start0" && return 0
  LOGS=$LOGS NAME=patching_seed$seed STARTS=0 REFS=$ref FACTDYN=$FACTDYN bash scripts/patching_quickstart.sh \
    --seed_everything "$seed" --trainer.enable_progress_bar false "${extra[@]}" \
    >"$LOGS/patching_seed$seed/ref${ref}_start0.log" 2>&1
}

# fit_from_reference <experiment> <name> <seed> [fit args...]: one fine-tuning run from the seed's reference
# checkpoint into $LOGS/<experiment>/<name>, unless it is finished there or archived.
fit_from_reference() {
  local experiment=$1 name=$2 seed=$3
  shift 3
  finished "$LOGS/$experiment/$name/version_0" && return 0
  archived "$experiment/seed_$seed/$name" && return 0
  mkdir -p "$LOGS/$experiment"
  $FACTDYN fit --config configs/quickstart.yaml --config configs/experiments/finetune.yaml \
    --model.init_checkpoint "$(reference_dir "$seed")/checkpoints/last.ckpt" --seed_everything "$seed" "$@" \
    --trainer.logger.init_args.save_dir "$LOGS/$experiment" --trainer.logger.init_args.name "$name" \
    --trainer.logger.init_args.version 0 --trainer.enable_progress_bar false "${extra[@]}" \
    >"$LOGS/$experiment/$name.log" 2>&1
}

run_finetune() {  # run_finetune <seed> <new people> <replay weight>
  fit_from_reference finetuning "ft-new=$2-replay=$3-seed=$1" "$1" --data.n_new "$2" --data.sampler.replay_weight "$3"
}

run_drop() {  # run_drop <seed> <replay weight> <keep moments> <lr>
  fit_from_reference finetuning_drop "ft-new=125-replay=$2-moments=$3-lr=$4-seed=$1" "$1" --data.n_new 125 \
    --data.sampler.replay_weight "$2" --model.init_optimizer_state "$3" --model.lr "$4"
}

TOY_RUNS="32:0 128:0 512:0 128:0.5 128:0.125 128:0.03125"
run_toy() {
  local seed=$1 root="$LOGS/toy/seed_$seed" spec missing=0
  for spec in $TOY_RUNS; do
    archived "toy/seed_$seed/ft_n${spec%%:*}_w${spec##*:}" || finished "$root/toy/ft_n${spec%%:*}_w${spec##*:}" || missing=1
  done
  ((missing)) || return 0
  mkdir -p "$root"
  if ! finished "$root/toy/pretrain"; then
    $FACTDYN toy fit --config configs/toy/pretrain.yaml --seed_everything "$seed" \
      --trainer.logger.init_args.save_dir "$root" >"$root/pretrain.log" 2>&1
  fi
  local n_new weight version
  for spec in $TOY_RUNS; do
    n_new=${spec%%:*} weight=${spec##*:} version="ft_n${n_new}_w${weight}"
    finished "$root/toy/$version" && continue
    archived "toy/seed_$seed/$version" && continue
    $FACTDYN toy fit --config configs/toy/finetune.yaml --seed_everything "$seed" \
      --trainer.logger.init_args.save_dir "$root" --trainer.logger.init_args.version "$version" \
      --model.init_checkpoint "$root/toy/pretrain/checkpoints/last.ckpt" \
      --data.n_new "$n_new" --data.replay_weight "$weight" >"$root/$version.log" 2>&1
  done
}

# evaluate_shuffled <run dir>: each checkpoint of a finished run on shuffled biographies, into <run>/eval/
# (a checkpoint already evaluated is evaluated again: the record is replaced, not repeated).
evaluate_shuffled() {
  local run=$1 ckpt
  finished "$run" || return 0
  for ckpt in "$run"/checkpoints/step=*.ckpt "$run/checkpoints/last.ckpt"; do
    $FACTDYN validate --ckpt_path "$ckpt" --data.shuffle_sentences true --trainer.enable_progress_bar false \
      >>"$run/eval_shuffled.log" 2>&1
  done
}

archive_seeds() {  # archive_seeds <experiment> <dir pattern with SEED>
  local experiment=$1 pattern=$2 seed dirs
  for seed in $SEEDS; do
    # shellcheck disable=SC2206
    dirs=(${pattern//SEED/$seed})
    [[ -e ${dirs[0]} ]] && $FACTDYN archive "${dirs[@]}" --to "results/$experiment/seed_$seed" || true
  done
}

for experiment in "${experiments[@]}"; do
  echo "== $(date +%T) $experiment"
  case $experiment in
    quickstart)
      for seed in $SEEDS; do spawn run_reference "$seed"; done; wait
      for seed in $SEEDS; do
        finished "$(reference_dir "$seed")" && $FACTDYN archive "$(reference_dir "$seed")" --to "results/quickstart/seed_$seed"
      done ;;
    patching)
      for seed in $SEEDS; do
        for ref in $REFS; do
          archived "patching/seed_$seed/ref${ref}_start0" || { spawn run_reference "$seed" checkpoints; break; }
        done
      done; wait
      for seed in $SEEDS; do for ref in $REFS; do spawn run_patched "$seed" "$ref"; done; done; wait
      archive_seeds patching "$LOGS/patching_seedSEED/ref*_start0" ;;
    finetuning)
      for seed in $SEEDS; do
        for spec in $FINETUNE_RUNS; do
          archived "finetuning/seed_$seed/ft-new=${spec%%:*}-replay=${spec##*:}-seed=$seed" \
            || { spawn run_reference "$seed" checkpoints; break; }
        done
      done; wait
      for seed in $SEEDS; do
        for spec in $FINETUNE_RUNS; do spawn run_finetune "$seed" "${spec%%:*}" "${spec##*:}"; done
      done; wait
      archive_seeds finetuning "$LOGS/finetuning/ft-*-seed=SEED" ;;
    finetuning_drop)
      for seed in $SEEDS; do
        for spec in $DROP_RUNS; do
          IFS=: read -r weight moments lr <<<"$spec"
          archived "finetuning_drop/seed_$seed/ft-new=125-replay=$weight-moments=$moments-lr=$lr-seed=$seed" \
            || { spawn run_reference "$seed" checkpoints; break; }
        done
      done; wait
      for seed in $SEEDS; do
        for spec in $DROP_RUNS; do IFS=: read -r weight moments lr <<<"$spec"; spawn run_drop "$seed" "$weight" "$moments" "$lr"; done
      done; wait
      archive_seeds finetuning_drop "$LOGS/finetuning_drop/ft-*-seed=SEED" ;;
    toy)
      for seed in $SEEDS; do spawn run_toy "$seed"; done; wait
      archive_seeds toy "$LOGS/toy/seed_SEED/toy" ;;
    fixed_order)
      $FACTDYN sweep "configs/sweeps/campaign_$experiment.yaml" --parallel "$JOBS" --threads "$THREADS" \
        --save-dir "$LOGS/sweeps" --skip-archived "results/$experiment" || true
      for run in "$LOGS/sweeps/campaign_$experiment"/*/version_0; do
        [[ -d $run ]] || continue
        name=$(basename "${run%/version_0}")
        archived "$experiment/seed_${name##*-seed=}/$name" || spawn evaluate_shuffled "$run"
      done; wait
      archive_seeds "$experiment" "$LOGS/sweeps/campaign_$experiment/*-seed=SEED" ;;
    distributions|plateau_vs_n|robustness|plateau_vs_n_constant|substrate)
      $FACTDYN sweep "configs/sweeps/campaign_$experiment.yaml" --parallel "$JOBS" --threads "$THREADS" \
        --save-dir "$LOGS/sweeps" --skip-archived "results/$experiment" || true
      archive_seeds "$experiment" "$LOGS/sweeps/campaign_$experiment/*-seed=SEED" ;;
    *) echo "unknown experiment $experiment" >&2; exit 2 ;;
  esac
done
$FACTDYN evidence
echo "== $(date +%T) done: commit results/ and REPRODUCTION.md"
