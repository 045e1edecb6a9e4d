"""Validation metrics per frequency bucket: which individuals a non-uniform sampler let the model learn."""

from __future__ import annotations

from typing import Any

import lightning as L
import numpy as np
from lightning.pytorch.callbacks import Callback

from factdyn.callbacks.quiet import quiet
from factdyn.callbacks.setup_checks import check_at_setup
from factdyn.checks import require, require_choice
from factdyn.data.population import EVAL_SETS


class BucketMetrics(Callback):
    """Logs ``val/attr_loss/bucket_<k>`` and ``val/attr_acc/bucket_<k>`` over the sampler's buckets.

    Buckets come from ``trainer.datamodule.sampler.buckets()`` (0 = most frequently sampled): Zipf frequency
    deciles, celebrities (0) vs the rest (1), warm-up subset (0) vs the rest (1), group index, new (0) vs
    replayed (1). The ``val`` set stays drawn uniformly over individuals (as in the paper), so the buckets
    split the same evaluation sequences, and the overall ``val/*`` metrics remain comparable across samplers.
    With a uniform sampler (no buckets) the callback does nothing.

    Args:
        split: evaluation set to split (``val``: training individuals on held-out templates).
    """

    def __init__(self, split: str = "val") -> None:
        require_choice("bucket_metrics.split", split, EVAL_SETS)
        self.split = split
        self._buckets: np.ndarray | None = None
        self._loss: np.ndarray = np.zeros(0)
        self._correct: np.ndarray = np.zeros(0)
        self._count: np.ndarray = np.zeros(0)

    @property
    def state_key(self) -> str:
        return f"BucketMetrics[split={self.split}]"

    def check_setup(self, stage: str, datamodule: Any, pl_module: Any, callbacks: Any) -> None:
        """``split`` is an evaluation set of this data whose individuals are trained on (so have buckets)."""
        names = getattr(datamodule, "eval_set_names", None)
        if not callable(names) or not callable(getattr(datamodule, "training_index", None)):
            return
        none = np.zeros(0, dtype=np.int64)
        trained = [s for s in names() if datamodule.training_index(s, none) is not None]
        require(
            self.split in trained,
            "bucket_metrics.split",
            f"an evaluation set of individuals this run trains on, one of {', '.join(map(repr, trained))}",
            self.split,
        )

    def metric_names(self, datamodule: Any) -> list[str]:
        """What this callback logs: ``<split>/attr_{loss,acc}/bucket_<k>`` for each bucket of the sampler."""
        sampler = getattr(datamodule, "sampler", None)
        buckets = sampler.buckets() if sampler is not None else None
        n = 0 if buckets is None or len(buckets) == 0 else int(buckets.max()) + 1
        return [f"{self.split}/attr_{m}/bucket_{k}" for m in ("loss", "acc") for k in range(n)]

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        check_at_setup(self, trainer, pl_module, stage)
        sampler = getattr(trainer.datamodule, "sampler", None)
        self._buckets = sampler.buckets() if sampler is not None else None

    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        n = 0 if self._buckets is None else int(self._buckets.max()) + 1
        self._loss, self._correct, self._count = np.zeros(n), np.zeros(n), np.zeros(n)

    def on_validation_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if self._buckets is None or not isinstance(outputs, dict) or outputs.get("split") != self.split:
            return
        index = trainer.datamodule.training_index(self.split, outputs["individual"].cpu().numpy())
        if index is None:
            return
        bucket = np.repeat(self._buckets[index], outputs["value_loss"].shape[1])
        n = len(self._count)
        loss = outputs["value_loss"].detach().double().flatten().cpu().numpy()
        correct = outputs["value_correct"].detach().double().flatten().cpu().numpy()
        self._loss += np.bincount(bucket, weights=loss, minlength=n)
        self._correct += np.bincount(bucket, weights=correct, minlength=n)
        self._count += np.bincount(bucket, minlength=n)

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if quiet(trainer) or self._buckets is None:
            return
        # Every rank evaluates the same fixed sets, so the values agree without a reduction.
        for k in np.flatnonzero(self._count):
            c = self._count[k]
            pl_module.log(f"{self.split}/attr_loss/bucket_{k}", float(self._loss[k] / c), sync_dist=False)
            pl_module.log(f"{self.split}/attr_acc/bucket_{k}", float(self._correct[k] / c), sync_dist=False)
