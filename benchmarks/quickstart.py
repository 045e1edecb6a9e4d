"""The quickstart's budget: wall time, system share, evaluation share, checkpoint size and its science.

    python benchmarks/quickstart.py                      # 3 runs of configs/quickstart.yaml, seeds 0, 1, 2
    python benchmarks/quickstart.py --seeds 0 --out reports/speed/quickstart_budget.json
    python benchmarks/quickstart.py -- --model.compile false     # anything after -- goes to `factdyn fit`

Each run is ``factdyn fit --config configs/quickstart.yaml`` in its own process, exactly as the README's
command runs it (start-up, compilation and evaluation included), into a temporary directory, one run per
seed (``--seed_everything``: the same work, a different data stream and initialisation). Printed:
medians over the runs of the wall time, the system share of the child's CPU time, the evaluation share
of the wall time (the run's own ``time_split``), the checkpoint directory's size, and the science checks
the quickstart promises (issue 15): the held-out attribute loss reaches 10 % of the baseline, stays there
for at least 6 evaluations, falls below 10 % of the baseline, and ``val/attr_acc`` ends at 0.8 or more.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from factdyn.analysis.runs import read_scalars
from factdyn.run_layout import CHECKPOINT_DIR, EVENTS_GLOB, SUMMARY

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "configs" / "quickstart.yaml"
MONITOR = "val/attr_loss"
MIN_PLATEAU_EVALUATIONS = 6
MIN_FINAL_ACCURACY = 0.8


def fit_command(config: Path, save_dir: str, extra: list[str]) -> list[str]:
    """The README's quickstart command (``factdyn fit``), logging under ``save_dir``."""
    return [
        sys.executable,
        "-c",
        "from factdyn.cli import main; main()",
        "fit",
        "--config",
        str(config),
        "--trainer.logger.init_args.save_dir",
        save_dir,
        "--trainer.enable_progress_bar",
        "false",
        *extra,
    ]


def science(run_dir: Path, summary: dict) -> dict:
    """The quickstart's promised curve, checked on the run's logged evaluations and its phase summary."""
    plateau = summary["plateau"]
    points = read_scalars(run_dir, [MONITOR])[MONITOR]
    start, end = plateau["start_step"], plateau["end_step"]
    inside = [s for s, _ in points if start is not None and s >= start and (end is None or s < end)]
    accuracy = summary["final"]["val/attr_acc"]
    return {
        "plateau_start_step": start,
        "plateau_end_step": end,
        "plateau_evaluations": len(inside),
        "knowledge_step": plateau["knowledge_step"],
        "final_val_attr_loss": summary["final"][MONITOR],
        "final_val_attr_acc": accuracy,
        "baseline": summary["baseline_attr_loss"],
        "holds": bool(
            start is not None
            and len(inside) >= MIN_PLATEAU_EVALUATIONS
            and plateau["knowledge_step"] is not None
            and accuracy >= MIN_FINAL_ACCURACY
        ),
    }


def one_run(config: Path, extra: list[str], keep: Path | None = None) -> dict:
    """Run the quickstart once in a child process; its wall, CPU split, evaluation share, disk and science.

    ``keep``: copy the run's summary and event files (not its checkpoints) there before the run is deleted.
    """
    with tempfile.TemporaryDirectory(prefix="factdyn-quickstart-") as tmp:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(fit_command(config, tmp, extra), check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        (summary_path,) = Path(tmp).rglob(SUMMARY)
        run_dir = summary_path.parent
        summary = json.loads(summary_path.read_text())
        checkpoints = sum(p.stat().st_size for p in (run_dir / CHECKPOINT_DIR).iterdir() if p.is_file())
        user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            for path in [summary_path, *sorted(run_dir.glob(EVENTS_GLOB))]:
                shutil.copy2(path, keep / path.name)
        return {
            "wall_seconds": wall,
            "run_wall_seconds": summary["wall_seconds"],
            "user_seconds": user,
            "system_seconds": system,
            "system_share": system / (user + system),
            "validation_seconds": summary["time_split"]["validation_seconds"],
            "evaluation_share": summary["time_split"]["validation_seconds"] / wall,
            "checkpoint_bytes": checkpoints,
            "steps": summary["steps"],
            "science": science(run_dir, summary),
        }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", type=Path, default=QUICKSTART)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="one run per seed, in turn")
    parser.add_argument("--out", type=Path, help="also write every run's figures as JSON here")
    parser.add_argument("--keep", type=Path, help="keep each run's summary and events in <keep>/seed_<s>/")
    parser.add_argument("extra", nargs="*", help="after --: more `factdyn fit` arguments")
    args = parser.parse_args()

    runs = []
    for i, seed in enumerate(args.seeds):
        keep = args.keep / f"seed_{seed}" if args.keep else None
        runs.append(one_run(args.config, ["--seed_everything", str(seed), *args.extra], keep))
        runs[-1]["seed"] = seed
        r = runs[-1]
        print(
            f"run {i + 1}/{len(args.seeds)} (seed {seed}): wall {r['wall_seconds']:.1f} s, "
            f"science {'holds' if r['science']['holds'] else 'FAILS'}",
            flush=True,
        )

    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    seeded = ["--seed_everything", "<seed>", *args.extra]
    shown = " ".join(shlex.quote(a) for a in fit_command(args.config, "<tmp>", seeded)[3:])
    walls = ", ".join(f"{r['wall_seconds']:.1f}" for r in runs)
    print(f"# command (each run, in its own process): factdyn {shown}")
    print(f"# machine: {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}; {len(runs)} runs")
    print(f"quickstart wall time: {med('wall_seconds'):.1f} s median (runs: {walls}; start-up included)")
    print(f"system share of CPU time: {med('system_share'):.2%}")
    print(f"evaluation share of wall time: {med('evaluation_share'):.2%} ({med('validation_seconds'):.1f} s)")
    print(f"checkpoints per run: {med('checkpoint_bytes') / 1e6:.1f} MB")
    for r in runs:
        s = r["science"]
        print(
            f"science, seed {r['seed']}: plateau {s['plateau_start_step']}-{s['plateau_end_step']} "
            f"({s['plateau_evaluations']} evaluations within 10 % of the baseline {s['baseline']:.3f}; "
            f">= {MIN_PLATEAU_EVALUATIONS} wanted), below 10 % of it at step {s['knowledge_step']}, final "
            f"{MONITOR} {s['final_val_attr_loss']:.4f}, val/attr_acc {s['final_val_attr_acc']:.4f} "
            f"(>= {MIN_FINAL_ACCURACY} wanted): {'holds' if s['holds'] else 'FAILS'}"
        )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"command": shown, "runs": runs}, indent=2) + "\n")


if __name__ == "__main__":
    main()
