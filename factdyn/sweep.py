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
idempotent: a run with ``summary.json`` is finished and skipped; a run with ``checkpoints/last.ckpt`` but no
summary was interrupted and is resumed from that checkpoint (``--ckpt_path``) into the same directory (the
training stream is a pure function of the step, so a resumed run replays what it lost); any other run starts
from scratch. Runs are subprocesses, ``parallel`` at a time, each pinned to ``cores // parallel`` threads.

This module imports neither torch nor Lightning: the sweep process only plans and waits.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SWEEP_KEYS = {"name", "configs", "grid", "seeds", "overrides", "save_dir", "command", "slurm"}
COMMANDS = {"fit": ["fit"], "toy fit": ["toy", "fit"]}
SUMMARY = "summary.json"
LAST_CKPT = Path("checkpoints") / "last.ckpt"
RUN_RECORD = "sweep_run.json"
OUTPUT_LOG = "output.log"


def cli_value(value: Any) -> str:
    """A config value as one command-line token jsonargparse parses back to the same value."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)  # true / false / null
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value)
    return str(value)


def slug_value(value: Any) -> str:
    """A short, filesystem-safe rendering of a grid value (dicts: class name and init args)."""
    if isinstance(value, dict):
        parts = []
        if "class_path" in value:
            parts.append(str(value["class_path"]).rsplit(".", 1)[-1])
        rest = value.get("init_args", {}) if "class_path" in value else value
        parts += [f"{k}{slug_value(v)}" for k, v in sorted(rest.items())]
        text = "-".join(parts)
    elif isinstance(value, (list, tuple)):
        text = "-".join(slug_value(v) for v in value)
    else:
        text = cli_value(value)
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "none"


def short_keys(keys: Sequence[str]) -> dict[str, str]:
    """Last dotted component of each key, or the whole key where two keys would share it."""
    last = [k.rsplit(".", 1)[-1] for k in keys]
    return {k: (s if last.count(s) == 1 else k) for k, s in zip(keys, last, strict=True)}


@dataclass(frozen=True)
class RunSpec:
    """One grid point × seed of a sweep: a normal ``factdyn fit`` run with its own fixed directory.

    Args:
        name: deterministic run name (``<sweep>-<key>=<value>...-seed=<s>``).
        params: the grid values of this point (config key -> value).
        seed: the seed (``--seed_everything``).
        index: position in the sweep (the SLURM array task id).
        run_dir: ``<save_dir>/<sweep>/<name>/version_0``, where Lightning writes the run.
        subcommand: the ``factdyn`` words before the arguments (``["fit"]`` or ``["toy", "fit"]``).
        args: the arguments after the subcommand (configs, overrides, grid values, seed, logger location).
    """

    name: str
    params: dict[str, Any]
    seed: int
    index: int
    run_dir: Path
    subcommand: tuple[str, ...]
    args: tuple[str, ...]

    @property
    def finished(self) -> bool:
        return (self.run_dir / SUMMARY).exists()

    @property
    def resumable(self) -> bool:
        return not self.finished and (self.run_dir / LAST_CKPT).exists()

    @property
    def status(self) -> str:
        """``finished``, ``resume`` (interrupted, has a last checkpoint) or ``new``."""
        return "finished" if self.finished else "resume" if self.resumable else "new"

    def cli_args(self, resume: bool | None = None) -> list[str]:
        """Arguments after the subcommand; with ``--ckpt_path`` when resuming (default: if resumable)."""
        resume = self.resumable if resume is None else resume
        extra = ["--ckpt_path", str(self.run_dir / LAST_CKPT)] if resume else []
        return [*self.args, *extra]

    def command(self, python: str = sys.executable, resume: bool | None = None) -> list[str]:
        return [python, "-m", "factdyn.cli", *self.subcommand, *self.cli_args(resume)]

    def describe(self) -> str:
        return " ".join(f"{k}={cli_value(v)}" for k, v in self.params.items()) + f" seed={self.seed}"


@dataclass
class Sweep:
    """A parsed sweep file. Use :meth:`load` (validates) and :meth:`expand` (the runs).

    Args:
        name: the sweep's name (folder under ``save_dir`` and prefix of every run name).
        configs: base config files, passed as ``--config`` in order.
        grid: config key -> list of values; the runs are the cartesian product (keys in file order).
        seeds: seeds, crossed with the grid.
        overrides: config key -> value for every run (applied before the grid values).
        save_dir: root of the run directories.
        command: ``fit`` or ``toy fit``.
        slurm: extra ``#SBATCH --key=value`` options for :func:`slurm_script`.
    """

    name: str
    configs: list[str]
    grid: dict[str, list[Any]] = field(default_factory=dict)
    seeds: list[int] = field(default_factory=lambda: [0])
    overrides: dict[str, Any] = field(default_factory=dict)
    save_dir: str = "logs/sweeps"
    command: str = "fit"
    slurm: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path, save_dir: str | None = None) -> Sweep:
        path = Path(path)
        data = yaml.safe_load(path.read_text()) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: a sweep file must be a mapping, got {type(data).__name__}")
        unknown = set(data) - SWEEP_KEYS
        if unknown:
            raise ValueError(f"{path}: unknown sweep keys {sorted(unknown)}; allowed: {sorted(SWEEP_KEYS)}")
        sweep = cls(**data)
        if save_dir is not None:
            sweep.save_dir = save_dir
        return sweep.validate(str(path))

    def validate(self, where: str = "sweep") -> Sweep:
        if not isinstance(self.name, str) or not re.fullmatch(r"[A-Za-z0-9._-]+", self.name):
            raise ValueError(f"{where}: name must be a non-empty string of [A-Za-z0-9._-], got {self.name!r}")
        if isinstance(self.configs, str):
            self.configs = [self.configs]
        if not self.configs:
            raise ValueError(f"{where}: configs must list at least one config file")
        for config in self.configs:
            if not Path(config).exists():
                raise ValueError(
                    f"{where}: configs entry {config!r} does not exist (paths are relative to the cwd)"
                )
        if not isinstance(self.grid, dict):
            raise ValueError(f"{where}: grid must map config keys to lists of values, got {self.grid!r}")
        for key, values in self.grid.items():
            if not isinstance(values, list) or not values:
                raise ValueError(f"{where}: grid.{key} must be a non-empty list of values, got {values!r}")
            width = len(split_key(key))
            if width > 1 and not all(isinstance(v, list) and len(v) == width for v in values):
                raise ValueError(
                    f"{where}: grid.{key} couples {width} keys, so each value must be a list of {width} "
                    f"values, got {values!r}"
                )
        if (
            not isinstance(self.seeds, list)
            or not self.seeds
            or not all(isinstance(s, int) and not isinstance(s, bool) for s in self.seeds)
        ):
            raise ValueError(f"{where}: seeds must be a non-empty list of integers, got {self.seeds!r}")
        if not isinstance(self.overrides, dict):
            raise ValueError(f"{where}: overrides must map config keys to values, got {self.overrides!r}")
        clash = set(self.overrides) & set(self.grid)
        if clash:
            raise ValueError(f"{where}: keys {sorted(clash)} are both in grid and overrides")
        if self.command not in COMMANDS:
            raise ValueError(f"{where}: command must be one of {sorted(COMMANDS)}, got {self.command!r}")
        return self

    @property
    def root(self) -> Path:
        return Path(self.save_dir) / self.name

    def expand(self) -> list[RunSpec]:
        """One :class:`RunSpec` per grid point × seed (grid points in file order, seeds innermost)."""
        keys = list(self.grid)
        shorts = short_keys([k for key in keys for k in split_key(key)])
        points = list(itertools.product(*(self.grid[k] for k in keys)))
        runs = []
        for point, seed in itertools.product(points, self.seeds):
            params: dict[str, Any] = {}
            for key, value in zip(keys, point, strict=True):
                parts = split_key(key)
                params.update(zip(parts, value, strict=True) if len(parts) > 1 else [(key, value)])
            slug = [f"{shorts[k]}={slug_value(v)}" for k, v in params.items()]
            name = "-".join([self.name, *slug, f"seed={seed}"])
            args: list[str] = []
            for config in self.configs:
                args += ["--config", str(config)]
            for key, value in [*self.overrides.items(), *params.items()]:
                args += [f"--{key}", cli_value(value)]
            args += [
                "--seed_everything", str(seed),
                "--trainer.logger.init_args.save_dir", str(self.root),
                "--trainer.logger.init_args.name", name,
                "--trainer.logger.init_args.version", "0",
            ]  # fmt: skip
            runs.append(
                RunSpec(
                    name=name,
                    params=params,
                    seed=seed,
                    index=len(runs),
                    run_dir=self.root / name / "version_0",
                    subcommand=tuple(COMMANDS[self.command]),
                    args=tuple(args),
                )
            )
        names = [r.name for r in runs]
        if len(set(names)) != len(names):
            raise ValueError(f"sweep {self.name}: two grid points map to the same run name: {names}")
        return runs


def split_key(key: str) -> list[str]:
    """A grid key ``"a,b"`` couples config keys: each of its values is a list ``[value_a, value_b]``."""
    return [k.strip() for k in key.split(",")]


def thread_count(parallel: int, threads: int | None = None) -> int:
    """Threads per run: explicit, else ``OMP_NUM_THREADS`` from the environment, else cores // parallel."""
    if threads is not None:
        return max(1, threads)
    if os.environ.get("OMP_NUM_THREADS", "").isdigit():
        return max(1, int(os.environ["OMP_NUM_THREADS"]))
    return max(1, (os.cpu_count() or 1) // parallel)


Runner = Callable[[RunSpec, list[str], dict[str, str], Path], int]


class LocalSweep:
    """Runs a sweep's runs on this machine, ``parallel`` at a time (a thread per slot waits on a subprocess).

    Args:
        runs: the runs (from :meth:`Sweep.expand`).
        parallel: how many runs at once.
        threads: threads per run (see :func:`thread_count`).
        python: the interpreter that runs ``-m factdyn.cli``.
        out: where progress lines go.
    """

    def __init__(
        self,
        runs: list[RunSpec],
        parallel: int = 1,
        threads: int | None = None,
        python: str = sys.executable,
        out: Any = None,
    ) -> None:
        if parallel < 1:
            raise ValueError(f"--parallel must be >= 1, got {parallel}")
        self.runs = runs
        self.parallel = parallel
        self.threads = thread_count(parallel, threads)
        self.python = python
        self.out = out or sys.stdout
        self._lock = threading.Lock()
        self._procs: dict[int, subprocess.Popen] = {}
        self._stopping = False
        self.done = 0
        self.failed: list[RunSpec] = []

    def _print(self, text: str) -> None:
        with self._lock:
            print(text, file=self.out, flush=True)

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[var] = str(self.threads)
        # The run must import the same factdyn as the sweep (e.g. a worktree on PYTHONPATH).
        here = str(Path(__file__).resolve().parents[1])
        paths = env.get("PYTHONPATH", "").split(os.pathsep) if env.get("PYTHONPATH") else []
        env["PYTHONPATH"] = os.pathsep.join([here, *[p for p in paths if p != here]])
        return env

    def _launch(self, run: RunSpec, command: list[str], env: dict[str, str], log: Path) -> int:
        with open(log, "a") as handle:
            handle.write(f"\n$ {shlex.join(command)}\n")
            handle.flush()
            proc = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=env)
            with self._lock:
                self._procs[run.index] = proc
            try:
                return proc.wait()
            finally:
                with self._lock:
                    self._procs.pop(run.index, None)

    def _one(self, run: RunSpec, total: int, runner: Runner) -> None:
        if self._stopping:
            return
        status = run.status
        run.run_dir.mkdir(parents=True, exist_ok=True)
        command = run.command(self.python)
        (run.run_dir / RUN_RECORD).write_text(
            json.dumps(
                {"name": run.name, "params": run.params, "seed": run.seed, "command": command}, indent=2
            )
        )
        verb = "resuming" if status == "resume" else "starting"
        self._print(f"[sweep] {verb} {run.name} ({run.describe()}); output: {run.run_dir / OUTPUT_LOG}")
        start = time.perf_counter()
        rc = runner(run, command, self.environment(), run.run_dir / OUTPUT_LOG)
        elapsed = time.perf_counter() - start
        with self._lock:
            if rc == 0 and run.finished:
                self.done += 1
                word = "finished"
            elif self._stopping:
                word = "interrupted"
            else:
                self.failed.append(run)
                word = f"FAILED (exit {rc})"
            counts = f"{self.done}/{total} done, {len(self.failed)} failed"
        self._print(f"[sweep] {word} {run.name} in {elapsed:.0f} s ({counts})")
        if word.startswith("FAILED"):
            tail = (run.run_dir / OUTPUT_LOG).read_text().splitlines()[-15:]
            self._print("\n".join("    " + line for line in tail))

    def run(self, runner: Runner | None = None) -> int:
        """Run every unfinished run; returns the number of failed runs. Ctrl-C / SIGTERM stop the runs
        (their last checkpoints stay, so the next invocation resumes them)."""
        runner = runner or self._launch
        total = len(self.runs)
        todo = [r for r in self.runs if not r.finished]
        self.done = total - len(todo)
        resumes = sum(r.resumable for r in todo)
        self._print(
            f"[sweep] {total} runs: {self.done} finished (skipped), {resumes} to resume, "
            f"{len(todo) - resumes} new; {self.parallel} at a time, {self.threads} thread(s) each"
        )
        previous = signal.signal(signal.SIGTERM, _raise_interrupt) if _main_thread() else None
        start = time.perf_counter()
        pool = ThreadPoolExecutor(max_workers=self.parallel)
        try:
            futures = [pool.submit(self._one, run, total, runner) for run in todo]
            for future in futures:
                while not future.done():
                    time.sleep(0.2)  # a timed wait keeps the main thread responsive to Ctrl-C
                future.result()
        except KeyboardInterrupt:
            self._stopping = True
            with self._lock:
                procs = list(self._procs.values())
            for proc in procs:
                # SIGTERM, not SIGINT: a run started in the background may inherit SIGINT as ignored.
                # Lightning stops at the next step either way, without writing summary.json.
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in procs:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
            pool.shutdown(wait=True, cancel_futures=True)
            self._print("[sweep] interrupted; run the same command again to resume")
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
        self._print(
            f"[sweep] done in {time.perf_counter() - start:.0f} s: {self.done}/{total} finished, "
            f"{len(self.failed)} failed"
            + ("".join(f"\n  failed: {r.name} ({r.run_dir / OUTPUT_LOG})" for r in self.failed))
        )
        return len(self.failed)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def slurm_script(
    sweep: Sweep, runs: list[RunSpec], python: str = "python", max_parallel: int | None = None
) -> str:
    """An ``sbatch`` job-array script: array task ``i`` runs ``runs[i]`` with the same skip/resume rule.

    Paths stay as written in the sweep file, relative to the directory the script ``cd``s into (this one).
    """
    n = len(runs)
    array = f"0-{n - 1}" + (f"%{max_parallel}" if max_parallel else "")
    lines = [
        "#!/bin/bash",
        f"# Generated by factdyn sweep --slurm (sweep {sweep.name}, {n} runs). Submit: sbatch <this file>",
        f"#SBATCH --job-name={sweep.name}",
        f"#SBATCH --array={array}",
        f"#SBATCH --output={sweep.root}/slurm-%A_%a.out",
    ]
    for key, value in sweep.slurm.items():
        lines.append(f"#SBATCH --{key}" + ("" if value is True else f"={value}"))
    lines += [
        "set -euo pipefail",
        f"cd {shlex.quote(str(Path.cwd()))}",
        "export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}",
        f"PYTHON=${{PYTHON:-{python}}}",
        'case "$SLURM_ARRAY_TASK_ID" in',
    ]
    for run in runs:
        args = " ".join(shlex.quote(a) for a in [*run.subcommand, *run.args])
        lines.append(f"  {run.index}) RUN_DIR={shlex.quote(str(run.run_dir))}; ARGS=({args}) ;;")
    lines += [
        '  *) echo "no run for array task $SLURM_ARRAY_TASK_ID" >&2; exit 1 ;;',
        "esac",
        'if [ -f "$RUN_DIR/summary.json" ]; then echo "finished already: $RUN_DIR"; exit 0; fi',
        'CKPT="$RUN_DIR/checkpoints/last.ckpt"',
        'if [ -f "$CKPT" ]; then ARGS+=(--ckpt_path "$CKPT"); fi  # interrupted (e.g. preempted): resume',
        "# DDP (--ntasks-per-node = --trainer.devices): srun starts one process per GPU.",
        'LAUNCH=(); if [ "${SLURM_NTASKS:-1}" -gt 1 ]; then LAUNCH=(srun); fi',
        'exec ${LAUNCH[@]+"${LAUNCH[@]}"} "$PYTHON" -m factdyn.cli "${ARGS[@]}"',
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
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
    args = parser.parse_args(argv)

    sweep = Sweep.load(args.sweep_file, save_dir=args.save_dir)
    runs = sweep.expand()
    if args.slurm is not None:
        args.slurm.parent.mkdir(parents=True, exist_ok=True)
        sweep.root.mkdir(parents=True, exist_ok=True)  # sbatch needs the --output folder to exist
        args.slurm.write_text(slurm_script(sweep, runs, max_parallel=args.slurm_max_parallel))
        args.slurm.chmod(0o755)
        print(f"[sweep] wrote {args.slurm}: a job array of {len(runs)} tasks (submit: sbatch {args.slurm})")
        return 0
    if args.dry_run:
        for run in runs:
            print(f"# {run.index} [{run.status}] {run.run_dir}")
            print(shlex.join(run.command("python")))
        return 0
    try:
        failed = LocalSweep(runs, parallel=args.parallel, threads=args.threads).run()
    except KeyboardInterrupt:
        return 130
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
