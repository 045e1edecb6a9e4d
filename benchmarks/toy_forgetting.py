"""Forgetting curves of the toy associative memory (spec §7.4), measured through ``factdyn toy fit``.

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 python benchmarks/toy_forgetting.py [--out /tmp/toy_forgetting]

Pre-trains once (configs/toy/pretrain.yaml), then fine-tunes (configs/toy/finetune.yaml) with no replay on
{32, 128, 512} new pairs and on 128 new pairs with replay weights {1/2, 1/8, 1/32}; prints old-pair accuracy
at the start, its minimum within the first 10 % of fine-tuning, and at the end, plus new-pair accuracy.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from factdyn.analysis.runs import read_scalars
from factdyn.cli import main

REPO = Path(__file__).resolve().parents[1]
RUNS = [("no replay", 32, 0.0), ("no replay", 128, 0.0), ("no replay", 512, 0.0)] + [
    ("replay", 128, w) for w in (1 / 2, 1 / 8, 1 / 32)
]


def main_() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="/tmp/toy_forgetting")
    parser.add_argument("--pretrain_steps", type=int, default=16_000)
    args = parser.parse_args()
    logs = Path(args.out)
    save = ["--trainer.logger.init_args.save_dir", str(logs)]
    t0 = time.perf_counter()
    main(["toy", "fit", "--config", str(REPO / "configs/toy/pretrain.yaml"), *save,
          "--trainer.max_steps", str(args.pretrain_steps)])  # fmt: skip
    pre = read_scalars(logs / "toy" / "pretrain", ["toy/old_acc", "toy/old_loss"])
    print(f"pre-training: {time.perf_counter() - t0:.0f} s, old_acc {pre['toy/old_acc'][-1][1]:.4f}, "
          f"old_loss {pre['toy/old_loss'][-1][1]:.4f}")  # fmt: skip
    rows = []
    for kind, n_new, weight in RUNS:
        version = f"ft_n{n_new}_w{weight:g}"
        t1 = time.perf_counter()
        main(["toy", "fit", "--config", str(REPO / "configs/toy/finetune.yaml"), *save,
              "--model.init_checkpoint", str(logs / "toy" / "pretrain" / "checkpoints" / "last.ckpt"),
              "--data.n_new", str(n_new), "--data.replay_weight", str(weight),
              "--trainer.logger.init_args.version", version])  # fmt: skip
        s = read_scalars(logs / "toy" / version)
        old, new = s["toy/old_acc"], s["toy/new_acc"]
        last = old[-1][0]
        early = [(step, v) for step, v in old if 0 < step <= last // 10]
        dip_step, dip = min(early, key=lambda p: p[1])
        rows.append((kind, n_new, weight, old[0][1], dip, dip_step, old[-1][1], new[-1][1],
                     max(v for _, v in s["toy/old_loss"]), time.perf_counter() - t1))  # fmt: skip
    print("\n| run | new pairs | replay weight | old acc start | old acc min (first 10 %) [step] | "
          "old acc end | new acc end | old loss peak | s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for kind, n, w, a0, dip, dip_step, a1, new, peak, sec in rows:
        print(f"| {kind} | {n} | {w:g} | {a0:.3f} | {dip:.3f} [{dip_step}] | {a1:.3f} | {new:.3f} | "
              f"{peak:.3f} | {sec:.0f} |")  # fmt: skip
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main_()
