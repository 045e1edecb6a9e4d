"""The toy memory's model: a one-hidden-layer ReLU MLP as a LightningModule (pre-training or fine-tuning)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, get_args

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from factdyn.checks import require, require_choice, require_int, require_number
from factdyn.training.checkpoint_files import CheckpointError, load_verified, load_weights
from factdyn.training.schedule import LrSchedule, lr_multiplier


class ToyMemory(L.LightningModule):
    """One-hidden-layer ReLU MLP classifying keys into values; pre-training or fine-tuning.

    Args:
        dim, n_classes: input and output sizes (linked from the data by the CLI).
        hidden: hidden units (paper: 256).
        lr: peak learning rate (paper: 0.03 pre-training, 1e-3 fine-tuning).
        weight_decay: AdamW weight decay (paper: 0.01).
        lr_schedule: ``cosine`` (to 0 over ``trainer.max_steps``) or ``constant``.
        init_checkpoint: a ``.ckpt`` of a pre-trained ``ToyMemory`` whose weights start this run
            (fine-tuning); loaded at fit start, with a fresh optimizer.
    """

    def __init__(
        self,
        dim: int = 64,
        n_classes: int = 30,
        hidden: int = 256,
        lr: float = 0.03,
        weight_decay: float = 0.01,
        lr_schedule: LrSchedule = "cosine",
        init_checkpoint: str | None = None,
    ) -> None:
        super().__init__()
        require_number("model.lr", lr, 0, low_open=True)
        require_number("model.weight_decay", weight_decay, 0)
        require_choice("model.lr_schedule", lr_schedule, get_args(LrSchedule))
        require_int("model.hidden", hidden, 1)
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))
        self.baseline_attr_loss = math.log(n_classes)  # no-knowledge loss, for RunSummary
        self._sums: dict[str, torch.Tensor] = {}

    def forward(self, keys: torch.Tensor) -> torch.Tensor:
        return self.net(keys)

    def check_setup(self, stage: str, datamodule: Any = None) -> None:
        """Before anything runs (the CLI calls it before building the Trainer): ``init_checkpoint`` exists."""
        path = self.hparams.init_checkpoint
        require(
            stage != "fit" or not path or Path(path).is_file(),
            "model.init_checkpoint",
            "a checkpoint file that exists (run the pre-training first)",
            path,
        )

    def setup(self, stage: str) -> None:
        path = self.hparams.init_checkpoint
        if stage != "fit" or not path:
            return
        self.check_setup(stage)
        state = load_verified(path).get("state_dict")  # safe and hash-checked: one-line errors
        if not isinstance(state, dict):
            raise CheckpointError(
                f"{path}: not a ToyMemory checkpoint (no 'state_dict'): pass the pre-training's "
                "<run>/checkpoints/last.ckpt as model.init_checkpoint"
            )
        load_weights(
            self,
            state,
            path,
            lambda detail: (
                "this ToyMemory (model.dim, model.hidden, model.n_classes must match the "
                f"pre-training: {detail})"
            ),
        )

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = F.cross_entropy(self(batch["keys"]), batch["labels"])
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def on_validation_epoch_start(self) -> None:
        self._sums = {}

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        logits = self(batch["keys"])
        loss = F.cross_entropy(logits, batch["labels"], reduction="sum")
        correct = (logits.argmax(-1) == batch["labels"]).sum()
        total = torch.stack(
            [loss, correct.float(), torch.tensor(float(len(batch["labels"])), device=self.device)]
        )
        name = batch["split"]
        self._sums[name] = self._sums.get(name, torch.zeros(3, device=self.device)) + total

    def eval_metrics(self) -> dict[str, torch.Tensor]:
        out = {}
        for name, (loss, correct, n) in self._sums.items():
            if n > 0:
                out[f"toy/{name}_loss"], out[f"toy/{name}_acc"] = loss / n, correct / n
        return out

    def on_validation_epoch_end(self) -> None:
        metrics = self.eval_metrics()
        metrics["step"] = torch.tensor(float(self.global_step), device=self.device)
        self.log_dict(metrics, sync_dist=True)

    @torch.no_grad()
    def on_train_start(self) -> None:
        # The curves need the starting point (step 0), which Lightning's validation schedule skips.
        if self.global_step != 0 or self.trainer.datamodule is None or self.logger is None:
            return
        self.on_validation_epoch_start()
        for batch in self.trainer.datamodule.eval_batches():
            self.validation_step(
                {**batch, "keys": batch["keys"].to(self.device), "labels": batch["labels"].to(self.device)}, 0
            )
        metrics = {k: float(v) for k, v in self.eval_metrics().items()}
        if self.trainer.global_rank == 0:
            for logger in self.loggers:
                logger.log_metrics(metrics, step=0)

    def configure_optimizers(self) -> dict[str, Any]:
        hp = self.hparams
        optimizer = torch.optim.AdamW(self.parameters(), lr=hp.lr, weight_decay=hp.weight_decay)
        # The main schedule with no warm-up and a floor of 0 is the paper's toy schedule (cosine to 0 over
        # max_steps, or constant), bit for bit; max(1, ...) keeps max_steps = -1 (no limit) off a division
        # by zero or a negative horizon.
        multiplier = lr_multiplier(hp.lr_schedule, hp.lr, 0.0, 0, max(1, self.trainer.max_steps))
        scheduler = LambdaLR(optimizer, multiplier)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
