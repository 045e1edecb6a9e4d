#!/usr/bin/env bash
# The paper-scale campaign on one GPU, in shards: each call runs sweeps for at most $SHARD_SECONDS, then
# archives every finished run into results/paper/<sweep name>/ and regenerates REPRODUCTION's tables.
#
#   bash scripts/campaign_gpu.sh configs/sweeps/paper/fig2_n.yaml [more sweep files...]
#
# A shard ends by SIGTERM to `factdyn sweep`, which stops its run cleanly (its checkpoints stay); the next
# call resumes that run from its newest resumable checkpoint and skips the finished ones (docs/sweeps.md), so
# the campaign survives any interruption, a lost machine included, as long as logs/campaign_gpu is kept or
# the interrupted run restarts from scratch. Commit results/ after each shard.
#
# Environment: SHARD_SECONDS (540: under the 10 minutes a device call may take), FACTDYN (factdyn).
set -uo pipefail
cd "$(dirname "$0")/.."
SHARD_SECONDS=${SHARD_SECONDS:-540}
FACTDYN=${FACTDYN:-factdyn}
(($#)) || { echo "usage: $0 <sweep file>..." >&2; exit 2; }

deadline=$((SECONDS + SHARD_SECONDS))
for sweep in "$@"; do
  left=$((deadline - SECONDS))
  ((left > 30)) || { echo "== shard time used up before $sweep"; break; }
  echo "== $(date +%T) $sweep ($left s left in this shard)"
  timeout --signal=TERM --kill-after=60 "$left" $FACTDYN sweep "$sweep" --parallel 1
  rc=$?
  echo "== $(date +%T) $sweep: exit $rc (124: the shard's time ran out; the next call resumes)"
done
for sweep in "$@"; do
  name=$(sed -n 's/^name: *//p' "$sweep")
  save_dir=$(sed -n 's/^save_dir: *//p' "$sweep")
  if compgen -G "$save_dir/$name/*/version_0/summary.json" >/dev/null; then
    $FACTDYN archive "$save_dir/$name" --to "results/paper/$name"
  else
    echo "== $name: no finished run to archive yet"
  fi
done
$FACTDYN evidence
