"""Preemption: a SIGTERM (what SLURM sends before it pre-empts or times out a job) stops ``fit`` at the end
of a training step, with a checkpoint to resume from and a non-zero exit status.

Lightning (2.6) handles SIGTERM by setting ``trainer.received_sigterm`` and raising ``SIGTERMException``
(a ``SystemExit`` with no code: exit status 0) at its next check: after the current evaluation batch, or
after the step's validation, bookkeeping and logger flush. It saves nothing, and a checkpoint taken at
those points is not one factdyn's resume continues exactly (its checkpoints are all taken at the end of a
training batch). So while training runs this callback answers SIGTERM itself:

- its handler only records the request (and forwards the signal to the DDP processes Lightning launched,
  as Lightning's own handler does); Lightning's flag stays down, so an evaluation under way finishes;
- at the end of the next training batch (under DDP, at the next logging step, agreed by all ranks) it
  saves ``checkpoints/last.ckpt``, the same state ModelCheckpoint's ``last.ckpt`` holds, and raises
  ``SIGTERMException`` with exit status :data:`EXIT_INTERRUPTED` (128 + 15, the shell's status for a
  process ended by SIGTERM), so Lightning's interrupt path runs (``on_exception``: RunSummary writes
  ``summary.json`` with ``"status": "interrupted"``; the loggers are finalized; the checkpoint writer is
  drained).

``fit --ckpt_path last`` then resumes the run in its directory. A SIGTERM that arrives before training
starts is Lightning's to handle; it still exits with :data:`EXIT_INTERRUPTED`.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities import rank_zero_info
from lightning.pytorch.utilities.exceptions import SIGTERMException

from factdyn.callbacks.quiet import quiet
from factdyn.run_layout import LAST_CHECKPOINT, checkpoint_dir

EXIT_INTERRUPTED = 128 + signal.SIGTERM
"""The exit status of a run stopped by SIGTERM (143)."""


class PreemptionCheckpoint(Callback):
    """On SIGTERM during ``fit``: ``last.ckpt`` at the end of the current training step, then exit 143.

    See the module's documentation for why the signal is taken over from Lightning while training runs.
    """

    def __init__(self) -> None:
        super().__init__()
        self.requested = False
        self._active = False
        self._previous: Any = None
        self._trainer: L.Trainer | None = None

    # --- the signal -------------------------------------------------------------------------------------
    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if quiet(trainer) or threading.current_thread() is not threading.main_thread():
            return
        # A SIGTERM during set-up reached Lightning's handler: take the request over.
        self.requested = self.requested or trainer.received_sigterm
        self._trainer = trainer
        self._previous = signal.signal(signal.SIGTERM, self._on_sigterm)
        self._active = True

    def _on_sigterm(self, signum: int, frame: Any) -> None:
        self.requested = True
        launcher = self._trainer.strategy.launcher if self._trainer is not None else None
        if launcher is not None:
            launcher.kill(signum)  # the DDP processes Lightning started hear it too

    def _restore(self) -> None:
        if self._active and threading.current_thread() is threading.main_thread():
            previous = self._previous
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
        self._active = False
        self._previous = None
        self._trainer = None

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._restore()

    # --- the stop ---------------------------------------------------------------------------------------
    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        if not self._active:
            return
        if trainer.world_size > 1:
            # One collective at the logging steps (which synchronise anyway): every rank stops at one step.
            every = max(1, trainer.log_every_n_steps)
            if trainer.global_step % every:
                return
            stop = trainer.strategy.reduce_boolean_decision(self.requested, all=False)
        else:
            stop = self.requested
        if not stop:
            return
        path = self.checkpoint_path(trainer)
        trainer.save_checkpoint(path)
        rank_zero_info(
            f"factdyn: SIGTERM: stopped after step {trainer.global_step}, saved {path}; "
            "resume with --ckpt_path last"
        )
        raise SIGTERMException(EXIT_INTERRUPTED)

    @staticmethod
    def checkpoint_path(trainer: L.Trainer) -> Path:
        """``last.ckpt`` in the directory of the run's last-checkpoint ModelCheckpoint (else
        ``<log_dir>/checkpoints``). Called on every rank (``trainer.log_dir`` is a collective)."""
        log_dir = trainer.log_dir
        for callback in trainer.checkpoint_callbacks:
            if getattr(callback, "save_last", False) and getattr(callback, "dirpath", None):
                return Path(callback.dirpath) / LAST_CHECKPOINT
        return checkpoint_dir(log_dir or trainer.default_root_dir) / LAST_CHECKPOINT

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        self._restore()
        if isinstance(exception, SIGTERMException) and exception.code in (None, 0):
            # Lightning's own SIGTERM exit (before training started, or in validate / test) says 0.
            exception.code = EXIT_INTERRUPTED
