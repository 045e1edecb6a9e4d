"""What an unfinished sweep run starts from: its newest checkpoint that can resume it, else a clean start.

A run directory that holds a run (TensorBoard events or checkpoints) but no ``summary.json`` was interrupted.
Which checkpoint resumes it is the choice ``fit --ckpt_path last`` makes
(:func:`~factdyn.training.run_directory.find_resume_checkpoint`: the newest one that loads, matches its hash
and holds the optimizer state, so ``last.ckpt``, or a scheduled ``step=*.ckpt`` when ``last.ckpt`` is missing
or corrupt). It needs torch, which the sweep process does not import, so it is asked of a subprocess
(:mod:`factdyn.training.resume_probe`).

When no checkpoint can resume the run (killed before its first checkpoint, or only lean or corrupt ones
left), the attempt is moved to ``<runs_root>/abandoned/attempt_<k>`` (nothing is deleted) and the run starts
from scratch in an empty ``version_0``. Resuming from a lean checkpoint's weights alone would give a run
that is not the one its config describes (fresh AdamW moments mid-schedule), and nothing in the run
directory would say so; a clean restart gives the result the sweep promises.

:mod:`factdyn.sweep.recover_run` does this for the SLURM script.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from factdyn import run_layout
from factdyn.sweep.parent_death import die_with_parent

PROBE = "factdyn.training.resume_probe"
"""The module (run with ``python -m``) that picks the resume checkpoint in a process with torch."""


class RecoveryError(RuntimeError):
    """The resume checkpoint could not be determined (the probe failed); the run directory is untouched."""


@dataclass(frozen=True)
class ResumeChoice:
    """What the probe found: the checkpoint to resume from (``None``: none can), its step, and why newer
    checkpoints were passed over."""

    checkpoint: Path | None
    step: int | None = None
    skipped: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, found: dict[str, Any]) -> ResumeChoice:
        """From the probe's JSON record (:func:`factdyn.training.resume_probe.probe`)."""
        checkpoint = Path(found["checkpoint"]) if found["checkpoint"] else None
        return cls(checkpoint, found["step"], tuple(found["skipped"]))


Probe = Callable[[Path], ResumeChoice]


def probe_subprocess(python: str = sys.executable, env: dict[str, str] | None = None) -> Probe:
    """A :data:`Probe` that runs :data:`PROBE` with ``python`` in ``env`` (the interpreter and environment
    of the runs; default: this process's)."""

    def probe(run_dir: Path) -> ResumeChoice:
        done = subprocess.run(
            [python, "-m", PROBE, str(run_dir)],
            capture_output=True,
            text=True,
            env=env,
            preexec_fn=die_with_parent(),
        )
        if done.returncode != 0:
            lines = done.stderr.strip().splitlines() or [f"exit {done.returncode}"]
            raise RecoveryError(f"{run_dir}: cannot tell which checkpoint resumes it: {lines[-1]}")
        try:
            return ResumeChoice.from_json(json.loads(done.stdout.strip().splitlines()[-1]))
        except (IndexError, KeyError, TypeError, ValueError) as err:
            raise RecoveryError(f"{run_dir}: unreadable answer from {PROBE}: {done.stdout[-200:]!r}") from err

    return probe


@dataclass(frozen=True)
class Recovery:
    """How a run starts: from ``checkpoint`` (a resume), or from scratch (``checkpoint`` is ``None``); where
    an unresumable attempt was moved (``abandoned``), and the notes to show the user."""

    checkpoint: Path | None = None
    step: int | None = None
    abandoned: Path | None = None
    notes: tuple[str, ...] = ()


def recover(run_dir: str | Path, probe: Probe | None = None) -> Recovery:
    """Decide how the sweep run in ``run_dir`` starts, moving an attempt that cannot resume aside.

    A finished run, or a directory that holds no run, starts from scratch with nothing moved (the caller
    skips finished runs). Raises :class:`RecoveryError`, leaving everything in place, when the probe fails or
    the run's folder holds other ``version_*`` runs (sweeps write only ``version_0``).
    """
    run_dir = Path(run_dir)
    if run_layout.is_finished(run_dir) or not run_layout.holds_a_run(run_dir):
        return Recovery()
    others = sorted(
        p.name
        for p in run_dir.parent.iterdir()
        if p.is_dir() and run_layout.version_number(p) >= 0 and p.name != run_dir.name
    )
    if others:
        raise RecoveryError(
            f"{run_dir.parent}: holds other runs ({', '.join(others)}) beside the sweep's {run_dir.name}; "
            "move them away to let the sweep resume or restart it"
        )
    notes: list[str] = []
    if run_layout.has_checkpoint(run_dir):
        choice = (probe or probe_subprocess())(run_dir)
        notes += [f"skipping checkpoint {line}" for line in choice.skipped]
        if choice.checkpoint is not None:
            return Recovery(checkpoint=choice.checkpoint, step=choice.step, notes=tuple(notes))
        reason = "no checkpoint can resume it (each is corrupt, or lean: without the optimizer state)"
    else:
        reason = "it was interrupted before its first checkpoint"
    destination = run_layout.abandoned_attempt(run_dir)
    destination.parent.mkdir(parents=True, exist_ok=True)
    run_dir.rename(destination)
    notes.append(f"{reason}: moved the attempt to {destination}; starting the run from scratch")
    return Recovery(abandoned=destination, notes=tuple(notes))
