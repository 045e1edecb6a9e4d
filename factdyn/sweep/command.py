"""``factdyn sweep`` on the command line: run a sweep here, print its plan (``--dry-run``) or write a SLURM
script (``--slurm``)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from factdyn.errors import OneLineArgumentParser
from factdyn.run_layout import ARCHIVE_RECORD
from factdyn.sweep.grid import Sweep
from factdyn.sweep.pool import LocalSweep
from factdyn.sweep.slurm import slurm_script


def archived_names(root: Path) -> set[str]:
    """The names of the archived runs below ``root`` (each folder holding an ``archive.json``)."""
    return {record.parent.name for record in root.rglob(ARCHIVE_RECORD)} if root.is_dir() else set()


def main(argv: list[str] | None = None) -> int:
    """``factdyn sweep <file> [...]``; returns the exit code (1 if a run failed, 2 for a bad sweep file or
    option, 130 when interrupted)."""
    parser = OneLineArgumentParser(
        prog="factdyn sweep",
        description="Expand a sweep file into factdyn runs; run them here (skipping finished ones, resuming "
        "interrupted ones) or write a SLURM job-array script.",
    )
    parser.add_argument("sweep_file", type=Path)
    parser.add_argument("--parallel", type=int, default=1, help="runs at once on this machine (default 1)")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads per run (default: $OMP_NUM_THREADS, else cores/parallel)",
    )
    parser.add_argument("--save-dir", default=None, help="override the sweep file's save_dir")
    parser.add_argument("--dry-run", action="store_true", help="print each run's status and command only")
    parser.add_argument("--slurm", type=Path, default=None, help="write an sbatch job array; run nothing")
    parser.add_argument("--slurm-max-parallel", type=int, default=None, help="array throttle (%%N)")
    parser.add_argument(
        "--skip-archived",
        type=Path,
        default=None,
        metavar="DIR",
        help="skip the runs with an archived copy of the same name under DIR (e.g. results/<experiment>): "
        "a campaign resumes on a fresh clone",
    )
    args = parser.parse_args(argv)
    if args.skip_archived is not None and args.slurm is not None:
        parser.error("--skip-archived runs here; it does not combine with --slurm")

    try:
        sweep = Sweep.load(args.sweep_file, save_dir=args.save_dir)
        runs = sweep.expand()
        if args.skip_archived is not None:
            archived = archived_names(args.skip_archived)
            kept = [run for run in runs if run.name not in archived]
            print(f"[sweep] {len(runs) - len(kept)} runs archived under {args.skip_archived}: skipped")
            runs = kept
        script = slurm_script(sweep, runs, max_parallel=args.slurm_max_parallel) if args.slurm else ""
        pool = LocalSweep(runs, parallel=args.parallel, threads=args.threads)
    except ValueError as err:  # a bad sweep file or option: one line, before anything is written
        print(f"factdyn sweep: error: {err}", file=sys.stderr)
        return 2
    if args.slurm is not None:
        args.slurm.parent.mkdir(parents=True, exist_ok=True)
        sweep.root.mkdir(parents=True, exist_ok=True)  # sbatch needs the --output folder to exist
        args.slurm.write_text(script)
        args.slurm.chmod(0o755)
        print(f"[sweep] wrote {args.slurm}: a job array of {len(runs)} tasks (submit: sbatch {args.slurm})")
        return 0
    if args.dry_run:
        for run in runs:
            # Which checkpoint resumes a run is decided when it starts (factdyn.sweep.recovery).
            note = " (+ --ckpt_path: its newest checkpoint that can resume it, else restarted)"
            print(f"# {run.index} [{run.status}] {run.run_dir}" + (note if run.status == "resume" else ""))
            print(shlex.join(run.command("python")))
        return 0
    try:
        failed = pool.run()
    except KeyboardInterrupt:
        return 130
    return 1 if failed else 0
