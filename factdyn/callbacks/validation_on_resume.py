"""ValidationOnResume: a run resumed from a checkpoint taken just before a validation still runs it."""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback


class ValidationOnResume(Callback):
    """Makes a resumed run evaluate at exactly the global steps of an uninterrupted run.

    Checkpoints are written at the end of a training batch (``last.ckpt``, the scheduled ``step=*.ckpt``),
    before the validation that the same step triggers. On resuming from such a checkpoint, Lightning
    (2.6) takes that validation as done and skips it, so the resumed run would miss one evaluation. This
    callback marks the restored validation loop as interrupted at its start, so Lightning runs it again,
    from its first batch, before the next training batch. It edits only the progress counters of the loop
    state in the checkpoint being loaded, and only when the checkpoint's step is a validation step. A
    checkpoint saved before the first batch (step 0) has its loop state dropped, so that the resumed run
    keeps the step numbers of a fresh one. The tests ``tests/test_resume.py`` and
    ``tests/test_resume_bookkeeping.py`` pin this against the Lightning version in use.
    """

    def on_load_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        fit_loop = checkpoint.get("loops", {}).get("fit_loop", {})
        train = fit_loop.get("epoch_loop.batch_progress", {}).get("total")
        val = fit_loop.get("epoch_loop.val_loop.batch_progress")
        if train is not None and train["ready"] == 0:
            # Saved before the first batch (the step-0 checkpoint, at train start): no progress to restore.
            # Lightning would read the all-zero counters as a save at the end of a validation and spend one
            # loop iteration on it that runs no batch but counts one logging step, so every train/* point
            # of the resumed run would come later. Without loop state the run starts as a fresh one does.
            del checkpoint["loops"]
            return
        # trainer.val_check_batch is only computed after the checkpoint is restored; an integer
        # val_check_interval is the same number of batches.
        interval = trainer.val_check_interval
        if train is None or val is None or not isinstance(interval, int) or interval < 1:
            return
        if trainer.check_val_every_n_epoch is not None:
            return  # validation counted per epoch: the endless stream has no epochs to align
        saved_at_batch_end = train["completed"] == train["processed"] - 1
        if not saved_at_batch_end or train["ready"] % interval != 0:
            return
        # A validation started (one batch ready and started) but nothing of it processed yet.
        val["total"].update(ready=val["total"]["completed"] + 1, started=val["total"]["completed"] + 1)
        val["current"].update(ready=1, started=1, processed=0, completed=0)
        # Lightning's path back into that validation ends the restored batch once more (on_advance_end),
        # which counts one more logging step: take it back so metrics keep their step numbers.
        epoch_state = fit_loop.get("epoch_loop.state_dict", {})
        if "_batches_that_stepped" in epoch_state:
            epoch_state["_batches_that_stepped"] -= 1
