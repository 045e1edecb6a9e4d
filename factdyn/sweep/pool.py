"""The local process pool of ``factdyn sweep``: runs a sweep's runs on this machine as subprocesses,
``parallel`` at a time, and stops them cleanly on Ctrl-C / SIGTERM (their last checkpoints stay, so the next
invocation resumes them). Each interrupted run resumes from its newest checkpoint that can resume it, or
restarts (:mod:`factdyn.sweep.recovery`); the runs die with the sweep (:mod:`factdyn.sweep.parent_death`).
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import factdyn
from factdyn.sweep.grid import RunSpec
from factdyn.sweep.parent_death import die_with_parent
from factdyn.sweep.recovery import Probe, RecoveryError, probe_subprocess, recover

RUN_RECORD = "sweep_run.json"
"""Written into each run directory before the run starts: its grid values, seed and exact command."""
OUTPUT_LOG = "output.log"
"""The run's stdout and stderr, appended to on every (re)start."""


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
        probe: picks an interrupted run's resume checkpoint (default: a ``python`` subprocess, see
            :func:`factdyn.sweep.recovery.probe_subprocess`).
    """

    def __init__(
        self,
        runs: list[RunSpec],
        parallel: int = 1,
        threads: int | None = None,
        python: str = sys.executable,
        out: Any = None,
        probe: Probe | None = None,
    ) -> None:
        if parallel < 1:
            raise ValueError(f"--parallel must be >= 1, got {parallel}")
        self.runs = runs
        self.parallel = parallel
        self.threads = thread_count(parallel, threads)
        self.python = python
        self.out = out or sys.stdout
        self.probe = probe or probe_subprocess(python, self.environment())
        self._lock = threading.Lock()
        self._procs: dict[int, subprocess.Popen] = {}
        self._stopping = False
        self.done = 0
        self.failed: list[RunSpec] = []

    def _print(self, text: str) -> None:
        with self._lock:
            print(text, file=self.out, flush=True)

    def environment(self) -> dict[str, str]:
        """The runs' environment: this one, with the thread count pinned and this factdyn importable."""
        env = dict(os.environ)
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[var] = str(self.threads)
        # The run must import the same factdyn as the sweep (e.g. a worktree on PYTHONPATH).
        here = str(Path(factdyn.__file__).resolve().parents[1])
        paths = env.get("PYTHONPATH", "").split(os.pathsep) if env.get("PYTHONPATH") else []
        env["PYTHONPATH"] = os.pathsep.join([here, *[p for p in paths if p != here]])
        return env

    def _launch(self, run: RunSpec, command: list[str], env: dict[str, str], log: Path) -> int:
        with open(log, "a") as handle:
            handle.write(f"\n$ {shlex.join(command)}\n")
            handle.flush()
            # Started from this pool thread, which waits for it: the parent-death request is tied to it.
            proc = subprocess.Popen(
                command, stdout=handle, stderr=subprocess.STDOUT, env=env, preexec_fn=die_with_parent()
            )
            with self._lock:
                self._procs[run.index] = proc
                if self._stopping:  # the stop came while it started: it missed the stop's list of runs
                    proc.send_signal(signal.SIGTERM)
            try:
                return proc.wait()
            finally:
                with self._lock:
                    self._procs.pop(run.index, None)

    def _one(self, run: RunSpec, total: int, runner: Runner) -> None:
        if self._stopping:
            return
        try:
            recovery = recover(run.run_dir, self.probe)
        except RecoveryError as err:
            with self._lock:
                self.failed.append(run)
                counts = f"{self.done}/{total} done, {len(self.failed)} failed"
            self._print(f"[sweep] FAILED {run.name}: {err} ({counts})")
            return
        for note in recovery.notes:
            self._print(f"[sweep] {run.name}: {note}")
        if self._stopping:  # stopped while the probe ran
            return
        run.run_dir.mkdir(parents=True, exist_ok=True)
        command = run.command(self.python, recovery.checkpoint)
        (run.run_dir / RUN_RECORD).write_text(
            json.dumps(
                {"name": run.name, "params": run.params, "seed": run.seed, "command": command}, indent=2
            )
        )
        if recovery.checkpoint is not None:
            verb = f"resuming {run.name} from step {recovery.step} ({recovery.checkpoint.name})"
        else:
            verb = f"starting {run.name}"
        self._print(f"[sweep] {verb} ({run.describe()}); output: {run.run_dir / OUTPUT_LOG}")
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
        statuses = [r.status for r in todo]
        restarts = statuses.count("restart")
        self._print(
            f"[sweep] {total} runs: {self.done} finished (skipped), {statuses.count('resume')} to resume, "
            + (f"{restarts} to restart, " if restarts else "")
            + f"{statuses.count('new')} new; {self.parallel} at a time, {self.threads} thread(s) each"
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
