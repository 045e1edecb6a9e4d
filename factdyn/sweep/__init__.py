"""``factdyn sweep``: expand a sweep file into ordinary ``factdyn fit`` runs and run, resume or script them.

    factdyn sweep configs/sweeps/plateau_vs_n_quickstart.yaml [--parallel 2] [--dry-run] [--slurm job.sh]

A sweep file (YAML) names base configs, a grid over any config keys, seeds and fixed overrides::

    name: plateau_vs_n
    configs: [configs/quickstart.yaml]          # passed as --config, in order
    grid: {data.n_individuals: [500, 1000]}     # cartesian product over the keys
    seeds: [0, 1]                               # --seed_everything (also the data seed)
    overrides: {phases.stop_on_knowledge: true} # the same for every run
    save_dir: logs/sweeps                       # runs go to <save_dir>/<name>/<run name>/version_0
    command: fit                                # or "toy fit"
    slurm: {time: "02:00:00", cpus-per-task: 4} # extra #SBATCH options for --slurm

Every grid point × seed is one run with a deterministic name and a fixed directory, so the sweep is
idempotent: a run with ``summary.json`` is finished and skipped; an interrupted run resumes into the same
directory from the checkpoint ``fit --ckpt_path last`` would pick (the training stream is a pure function of
the step, so a resumed run replays what it lost), or, when none can resume it exactly, has its attempt set
aside and starts from scratch (:mod:`factdyn.sweep.recovery`); a new run starts from scratch. Runs are
subprocesses, ``parallel`` at a time, each pinned to ``cores // parallel`` threads, and die with the sweep
(:mod:`factdyn.sweep.parent_death`).

The package imports neither torch nor Lightning: the sweep process only plans and waits.

- :mod:`factdyn.sweep.grid`: sweep files, grid expansion, :class:`Sweep` and :class:`RunSpec`;
- :mod:`factdyn.sweep.pool`: :class:`LocalSweep`, the local process pool, and :func:`thread_count`;
- :mod:`factdyn.sweep.recovery`: :func:`recover`, how an interrupted run starts again
  (:mod:`factdyn.sweep.recover_run`: the same for the SLURM script);
- :mod:`factdyn.sweep.parent_death`: :func:`die_with_parent`, the runs' ``preexec_fn``;
- :mod:`factdyn.sweep.slurm`: :func:`slurm_script`, the job-array script (every value quoted or refused);
- :mod:`factdyn.sweep.command`: :func:`main`, the argparse program.
"""

from factdyn.sweep.command import main
from factdyn.sweep.grid import (
    COMMANDS,
    RUN_VERSION,
    SWEEP_KEYS,
    RunSpec,
    Sweep,
    cli_value,
    short_keys,
    slug_value,
    split_key,
)
from factdyn.sweep.pool import OUTPUT_LOG, RUN_RECORD, LocalSweep, Runner, thread_count
from factdyn.sweep.slurm import slurm_script

__all__ = [
    "COMMANDS",
    "OUTPUT_LOG",
    "RUN_RECORD",
    "RUN_VERSION",
    "SWEEP_KEYS",
    "LocalSweep",
    "RunSpec",
    "Runner",
    "Sweep",
    "cli_value",
    "main",
    "short_keys",
    "slug_value",
    "slurm_script",
    "split_key",
    "thread_count",
]
