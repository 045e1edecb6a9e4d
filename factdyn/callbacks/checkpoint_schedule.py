"""Checkpoints over time, Pythia style: log-spaced early (0, 1, 2, 4, ...), then periodic, all kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn

from factdyn.callbacks.quiet import quiet
from factdyn.checks import require_int
from factdyn.run_layout import checkpoint_dir, step_filename
from factdyn.training.checkpoint_io import WITHOUT_OPTIMIZER, AtomicCheckpointIO


def checkpoint_steps(dense_until: int, every_n_steps: int, max_steps: int) -> list[int]:
    """Steps to keep: 0 and powers of two up to ``dense_until``, then multiples of ``every_n_steps``."""
    steps = {0}
    p = 1
    while p <= min(dense_until, max_steps):
        steps.add(p)
        p *= 2
    if every_n_steps > 0:
        steps.update(range(every_n_steps, max_steps + 1, every_n_steps))
    if max_steps > 0:
        steps.add(max_steps)
    return sorted(s for s in steps if s <= max_steps)


class CheckpointSchedule(Callback):
    """Keeps a checkpoint at every step of :func:`checkpoint_steps`: ``step=00001000.ckpt`` for step 1000.

    Step 0 is the initial model (the reference "untrained" attention patterns come from it). Every file
    carries its ``global_step`` and the full hyperparameters, so it loads without the CLI.

    Args:
        dense_until: last step of the log-spaced part.
        every_n_steps: period of the later part.
        dirpath: where to write; default ``<log_dir>/checkpoints``.
        background_writes: write every checkpoint file of the run (these and ``last.ckpt``) in a background
            thread (:class:`~factdyn.training.checkpoint_io.AtomicCheckpointIO` ``background``): the tensors
            are copied on their device when the save is asked for, and training goes on while the file
            is serialized, hashed and written. The end of ``fit`` waits for the last write. A run killed
            during a write keeps its previous checkpoints (writes are atomic).
        optimizer_state: keep AdamW's moments in these files. ``false`` writes lean files (weights,
            hyperparameters, data and callback state: a third of the size) that serve as patching
            references and fine-tuning starts but cannot resume a run; ``last.ckpt`` always keeps everything
            an exact resume needs.
    """

    def __init__(
        self,
        dense_until: int = 512,
        every_n_steps: int = 1000,
        dirpath: str | None = None,
        background_writes: bool = True,
        optimizer_state: bool = True,
    ) -> None:
        require_int("checkpoints.dense_until", dense_until, 0)
        require_int("checkpoints.every_n_steps", every_n_steps, 0)
        self.dense_until = dense_until
        self.every_n_steps = every_n_steps
        self.dirpath = dirpath
        self.background_writes = background_writes
        self.optimizer_state = optimizer_state
        self._steps: set[int] = set()
        self.saved: list[str] = []

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if self.dirpath is None:
            self.dirpath = str(checkpoint_dir(trainer.log_dir or trainer.default_root_dir))
        self._steps = set(checkpoint_steps(self.dense_until, self.every_n_steps, max(trainer.max_steps, 0)))
        io = trainer.strategy.checkpoint_io
        if isinstance(io, AtomicCheckpointIO):
            io.background = self.background_writes
        elif self.background_writes:
            rank_zero_warn(
                f"checkpoints.background_writes needs factdyn's checkpoint IO, not {type(io).__name__}"
            )

    def _save(self, trainer: L.Trainer) -> None:
        step = trainer.global_step
        if quiet(trainer) or step not in self._steps:
            return
        path = str(Path(self.dirpath) / step_filename(step))
        if path in self.saved:
            return
        # weights_only said explicitly: else Lightning logs a line.
        options = None if self.optimizer_state else WITHOUT_OPTIMIZER
        trainer.save_checkpoint(path, weights_only=False, storage_options=options)
        self.saved.append(path)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._save(trainer)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        self._save(trainer)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.saved:
            rank_zero_info(f"kept {len(self.saved)} scheduled checkpoints in {self.dirpath}")

    def state_dict(self) -> dict[str, Any]:
        return {"saved": list(self.saved)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.saved = list(state_dict.get("saved", []))
