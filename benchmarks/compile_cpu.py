"""``torch.compile`` (inductor's C++ backend) against eager on CPU, for the quickstart's model and batches.

    python benchmarks/compile_cpu.py                 # 3 alternating rounds of 60 steps each
    python benchmarks/compile_cpu.py --steps 100 --rounds 5

Each round trains a fresh copy of the quickstart Transformer (same seed) in a plain loop with fused AdamW,
once eager and once compiled (``dynamic=True``, as ``model.compile: true`` does), in this process, on the same
batches. The first compiled round uses an empty inductor cache (a cold compile, what a first run on a new
machine pays); later rounds find the cache a run on the same machine would find. Printed: the first step's
seconds (compilation included) and the median time of the steps after ``--warmup``, per mode, and the ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml
from plain_loop import plain_step  # benchmarks/: the script folder is on sys.path

from factdyn.data.batches import to_torch
from factdyn.data.datamodule import BiographyDataModule
from factdyn.data.stream import BiographyStream
from factdyn.model import Transformer, TransformerConfig
from factdyn.process import keep_freed_memory
from factdyn.training.compilation import compile_model

QUICKSTART = Path(__file__).resolve().parents[1] / "configs" / "quickstart.yaml"


def round_times(dm: BiographyDataModule, shape: dict, steps: int, compiled: bool) -> list[float]:
    """Per-step seconds of one round (a fresh model and optimizer, the same batches every round)."""
    torch.manual_seed(0)
    net = Transformer(TransformerConfig(dm.vocab_size, dm.max_seq_len, **shape))
    opt = torch.optim.AdamW(net.optimizer_groups(0.1), lr=5e-3, betas=(0.9, 0.95), fused=True)
    forward = compile_model(net) if compiled else net
    stream = BiographyStream(dm.assembler, dm.populations["train"], dm.sampler, dm.batch_size, 0, 0, 0, True)
    times = []
    for step in range(steps):
        tokens = to_torch(stream.batch_at(step))["tokens"]
        start = time.perf_counter()
        plain_step(forward, opt, tokens, torch.autocast("cpu", enabled=False))
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10, help="steps left out of each median")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    keep_freed_memory()  # as factdyn fit runs
    cache = tempfile.mkdtemp(prefix="inductor-cold-")
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = cache  # read when inductor first compiles, below

    config = yaml.safe_load(QUICKSTART.read_text())
    data, shape = config["data"], config["model"]["config"]
    dm = BiographyDataModule(
        n_individuals=data["n_individuals"], n_unseen=data["n_unseen"], batch_size=data["batch_size"],
        n_val_sequences=8, n_unseen_sequences=8,
    )  # fmt: skip
    dm.setup()
    first: dict[str, list[float]] = {"eager": [], "compiled": []}
    step: dict[str, list[float]] = {"eager": [], "compiled": []}
    for _ in range(args.rounds):
        for mode in first:
            times = round_times(dm, shape, args.steps, mode == "compiled")
            first[mode].append(times[0])
            step[mode].append(statistics.median(times[args.warmup :]))
    print(f"# command: python benchmarks/compile_cpu.py --steps {args.steps} --warmup {args.warmup} "
          f"--rounds {args.rounds}")  # fmt: skip
    print(f"# torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
          f"model {shape}, batch {data['batch_size']}; python {sys.version.split()[0]}")  # fmt: skip
    for mode in first:
        firsts = ", ".join(f"{t:.1f}" for t in first[mode])
        steps = ", ".join(f"{t * 1e3:.1f}" for t in step[mode])
        print(f"{mode:<9} first step (s, per round; round 1 compiles cold): {firsts}   ms/step: {steps}")
    ratio = statistics.median(step["compiled"]) / statistics.median(step["eager"])
    print(f"ratio compiled / eager (median time per step): {ratio:.3f}")


if __name__ == "__main__":
    main()
