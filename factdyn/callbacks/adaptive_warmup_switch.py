"""AdaptiveWarmUpSwitch: ends an ``AdaptiveWarmUp`` warm-up when the warm-up subset leaves its plateau."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities import rank_zero_info

from factdyn.callbacks.quiet import quiet
from factdyn.callbacks.setup_checks import check_at_setup, logged_metrics
from factdyn.checks import require, require_metric
from factdyn.data.samplers.adaptive_warmup import AdaptiveWarmUp
from factdyn.dynamics.phases import DEFAULT_THRESHOLDS, PhaseThresholds, PhaseTracker


class AdaptiveWarmUpSwitch(Callback):
    """Watches the held-out-template attribute loss of the warm-up subset and switches the sampler.

    During each validation it keeps the ``split == "val"`` rows of the validation outputs whose individual
    is in ``trainer.datamodule.sampler.subset``; at validation end the subset's mean attribute loss feeds
    its own :class:`~factdyn.dynamics.phases.PhaseTracker`.
    When that tracker finds the plateau end, the callback
    calls ``sampler.switch(trainer.global_step)``. Logs ``curriculum/warmup_attr_loss`` at each validation
    and ``curriculum/switch_step`` once.

    Args:
        thresholds: plateau thresholds for the subset's loss (only the plateau ones matter here: the switch
            happens at the plateau end), :class:`~factdyn.dynamics.phases.PhaseThresholds`.
        baseline_monitor: the logged no-knowledge baseline.

    Raises:
        ValueError: at setup, if ``data.sampler`` is not an ``AdaptiveWarmUp`` or ``data.num_workers`` is
            not 0 (worker processes hold copies of the sampler that would never see the switch), or if
            ``baseline_monitor`` names no metric the run logs.
    """

    switches_sampler = True
    """Ends the sampler's warm-up (what :func:`require_warmup_switch` looks for)."""

    def __init__(
        self,
        thresholds: PhaseThresholds = DEFAULT_THRESHOLDS,
        baseline_monitor: str = "baseline/attr_loss",
    ) -> None:
        super().__init__()
        self.thresholds = thresholds.validate(prefix="AdaptiveWarmUpSwitch.thresholds.")
        self.baseline_monitor = baseline_monitor
        self.tracker = PhaseTracker(thresholds=self.thresholds)
        self.switch_step: int | None = None
        self._subset: np.ndarray | None = None
        self._loss_sum = 0.0
        self._count = 0

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        check_at_setup(self, trainer, pl_module, stage)

    def check_setup(self, stage: str, datamodule: Any, pl_module: Any, callbacks: Any) -> None:
        """An ``AdaptiveWarmUp`` sampler in the training process, and a logged ``baseline_monitor``."""
        sampler = getattr(datamodule, "sampler", None)
        require(
            isinstance(sampler, AdaptiveWarmUp),
            "data.sampler",
            "AdaptiveWarmUp (AdaptiveWarmUpSwitch switches it)",
            type(sampler).__name__ if sampler is not None else None,
        )
        require(
            getattr(datamodule, "num_workers", 0) == 0,
            "data.num_workers",
            "0 with AdaptiveWarmUpSwitch (DataLoader workers hold copies of the sampler that never see the "
            "switch)",
            getattr(datamodule, "num_workers", None),
        )
        logged = logged_metrics(datamodule, pl_module, callbacks) if stage == "fit" else None
        if logged is not None:
            require_metric("AdaptiveWarmUpSwitch.baseline_monitor", self.baseline_monitor, logged)

    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._loss_sum, self._count = 0.0, 0
        self._subset = trainer.datamodule.sampler.subset

    def on_validation_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if (
            quiet(trainer, fitting_only=True)
            or not isinstance(outputs, dict)
            or outputs.get("split") != "val"
        ):
            return
        individual = outputs["individual"].detach().cpu().numpy()
        rows = np.isin(individual, self._subset)
        if rows.any():
            value_loss = outputs["value_loss"].detach().float().cpu()[torch.from_numpy(rows)]
            self._loss_sum += float(value_loss.sum())
            self._count += value_loss.numel()

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if quiet(trainer, fitting_only=True) or self.baseline_monitor not in trainer.callback_metrics:
            return
        # Ranks see different validation shards: sum them so every rank feeds the same loss.
        totals = torch.tensor([self._loss_sum, float(self._count)], dtype=torch.float64)
        totals = trainer.strategy.reduce(totals.to(pl_module.device), reduce_op="sum").cpu()
        if totals[1] == 0:
            return
        loss = float(totals[0] / totals[1])
        baseline = float(trainer.callback_metrics[self.baseline_monitor])
        step = trainer.global_step
        found = self.tracker.update(step, loss, baseline=baseline)
        metrics = {"curriculum/warmup_attr_loss": loss}
        sampler: AdaptiveWarmUp = trainer.datamodule.sampler
        if "plateau_end" in found and not sampler.switched:
            self.switch_step = sampler.switch(step)
            metrics["curriculum/switch_step"] = float(self.switch_step)
            rank_zero_info(
                f"[curriculum] warm-up subset left its plateau (loss {loss:.4g}, baseline {baseline:.4g}): "
                f"training on all individuals from step {self.switch_step}"
            )
        if trainer.global_rank == 0:
            for logger in trainer.loggers:
                logger.log_metrics(metrics, step=step)

    def summary(self) -> dict[str, Any]:
        """The ``curriculum`` section of ``summary.json``."""
        return {
            "curriculum": {
                "switch_step": self.switch_step,
                "warmup_plateau_start_step": self.tracker.reached_baseline_step,
                "warmup_plateau_end_step": self.tracker.plateau_end_step,
            }
        }

    def state_dict(self) -> dict[str, Any]:
        return {"tracker": self.tracker.state_dict(), "switch_step": self.switch_step}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.tracker.load_state_dict(state_dict["tracker"])
        self.switch_step = state_dict.get("switch_step")


def require_warmup_switch(sampler: Any, callbacks: Sequence[Any]) -> None:
    """An ``AdaptiveWarmUp`` without ``max_warmup_steps`` needs a callback that ends its warm-up (an
    :class:`AdaptiveWarmUpSwitch`, or any with ``switches_sampler = True``): else it never ends."""
    if not isinstance(sampler, AdaptiveWarmUp) or sampler.max_warmup_steps is not None:
        return
    require(
        any(getattr(c, "switches_sampler", False) for c in callbacks),
        "trainer.callbacks",
        "an AdaptiveWarmUpSwitch with data.sampler AdaptiveWarmUp (--trainer.callbacks+=AdaptiveWarmUpSwitch)"
        ", or data.sampler.max_warmup_steps set: without either the warm-up never ends",
        sorted(type(c).__name__ for c in callbacks),
    )
