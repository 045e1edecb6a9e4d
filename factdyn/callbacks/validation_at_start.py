"""ValidationAtStart: a run that starts from a trained model evaluates it at step 0, before any update."""

from __future__ import annotations

from typing import Literal, get_args

import lightning as L
from lightning.pytorch.callbacks import Callback

from factdyn.callbacks.quiet import quiet
from factdyn.checks import require_choice

When = Literal["init_checkpoint", "always", "never"]


class ValidationAtStart(Callback):
    """Runs the ordinary validation once before the first training batch, logged at step 0.

    Lightning validates every ``val_check_interval`` batches, so the first evaluation of a run is after
    that many updates. For fine-tuning (``model.init_checkpoint``) the starting point is the pre-trained
    model, and the collapse of old knowledge happens within the first tens of steps: without a step-0
    evaluation a figure would start from an already fine-tuned model. This callback runs Lightning's own
    validation loop at train start, so every metric and every callback that reacts to a validation
    (phases, buckets, attention statistics, ``summary.json``) sees the pre-trained model at step 0 exactly
    as it sees any later evaluation.

    Args:
        when: ``init_checkpoint`` (default): only for runs whose module has an ``init_checkpoint``
            (fine-tuning); ``always``: every run (the randomly initialised model for pre-training);
            ``never``.

    It runs only at global step 0, so a run resumed from a later checkpoint does not evaluate again; a run
    resumed from its step-0 checkpoint starts afresh (``ValidationOnResume``) and so evaluates step 0 again,
    replacing the interrupted process's point. It keeps no state of its own.
    """

    def __init__(self, when: When = "init_checkpoint") -> None:
        require_choice("ValidationAtStart.when", when, get_args(When))
        self.when = when

    def wanted(self, pl_module: L.LightningModule) -> bool:
        """Whether this run evaluates at its start (``when`` and the module's ``init_checkpoint``)."""
        if self.when == "init_checkpoint":
            return bool(getattr(pl_module, "hparams", {}).get("init_checkpoint"))
        return self.when == "always"

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if quiet(trainer) or trainer.global_step != 0 or not self.wanted(pl_module):
            return
        if not trainer.val_dataloaders and trainer.limit_val_batches == 0:
            return
        loop = trainer.fit_loop.epoch_loop
        # As Lightning's training epoch loop runs a validation (on_advance_end): the active loop is picked
        # from these flags, and the logger connector's first-iteration flag belongs to the training loop.
        first_loop_iter = trainer._logger_connector._first_loop_iter
        trainer.validating = True
        try:
            loop.val_loop.run()
        finally:
            trainer.training = True
            trainer._logger_connector._first_loop_iter = first_loop_iter
