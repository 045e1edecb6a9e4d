"""The allocator lever: a short quickstart run in fresh processes, glibc's defaults against factdyn's.

    python benchmarks/allocator.py                         # 150 steps, no evaluation, 3 rounds
    python benchmarks/allocator.py --variants default factdyn trim mmap-threshold --repeats 2

Each run is ``factdyn fit --config configs/quickstart.yaml`` with ``--trainer.max_steps STEPS`` and no
evaluation, in its own process (start-up included), variants alternating so drifts in machine load hit
all of them. Variants:

- ``factdyn``: what ``factdyn`` does (``factdyn.process.keep_freed_memory``: no mmap, 2 GiB trim threshold);
- ``default``: glibc's defaults (``FACTDYN_KEEP_FREED_MEMORY=0``);
- ``trim``: only the trim threshold raised; ``mmap-threshold``: the mmap threshold at its 32 MiB maximum and
  the trim threshold raised (the two levers that did not pay).

Prints, per variant, medians of wall, user and system seconds, the system share of CPU time, minor page
faults and peak resident memory, and the wall-time ratio of each variant to ``default``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import ctypes, json, resource, sys, time
variant = sys.argv[1]
libc = ctypes.CDLL("libc.so.6")
if variant == "trim":
    libc.mallopt(-1, 2**31 - 1)
elif variant == "mmap-threshold":
    libc.mallopt(-3, 32 << 20); libc.mallopt(-1, 2**31 - 1)
start = time.perf_counter()
from factdyn.cli import main
main(sys.argv[2:])
wall = time.perf_counter() - start
ru = resource.getrusage(resource.RUSAGE_SELF)
print("RESULT " + json.dumps({"wall": wall, "user": ru.ru_utime, "sys": ru.ru_stime,
                              "minflt": ru.ru_minflt, "maxrss_mb": ru.ru_maxrss / 1024}))
"""


def run(variant: str, steps: int, logs: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    # Only the factdyn variant keeps factdyn's setting; the others start from glibc's defaults.
    env["FACTDYN_KEEP_FREED_MEMORY"] = "1" if variant == "factdyn" else "0"
    args = ["fit", "--config", str(REPO / "configs" / "quickstart.yaml"), "--trainer.max_steps", str(steps)]
    args += ["--trainer.limit_val_batches", "0", "--trainer.enable_progress_bar", "false"]
    args += ["--trainer.logger.init_args.save_dir", str(logs / variant)]
    out = subprocess.run(
        [sys.executable, "-c", CHILD, variant, *args], env=env, capture_output=True, text=True, check=True
    ).stdout
    return json.loads(next(line for line in out.splitlines() if line.startswith("RESULT "))[7:])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--variants", nargs="+", default=["default", "factdyn"])
    args = parser.parse_args()
    results: dict[str, list[dict[str, float]]] = {v: [] for v in args.variants}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeats):
            for variant in args.variants:
                results[variant].append(run(variant, args.steps, Path(tmp) / str(len(results[variant]))))
    print(f"quickstart config, {args.steps} steps, no evaluation, {args.repeats} rounds, medians:")
    median = {v: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for v, rs in results.items()}
    for variant, m in median.items():
        share = m["sys"] / (m["user"] + m["sys"])
        print(
            f"  {variant:<15} wall {m['wall']:6.1f} s  user {m['user']:6.1f} s  sys {m['sys']:5.1f} s "
            f"(system {share:5.1%} of CPU time)  minor faults {m['minflt']:>11,.0f}  "
            f"peak {m['maxrss_mb']:.0f} MB"
        )
    if "default" in median:
        for variant, m in median.items():
            print(f"ratio {variant} / default (wall time): {m['wall'] / median['default']['wall']:.3f}")
    print("runs: " + json.dumps(results))


if __name__ == "__main__":
    main()
