"""Replay mixing for fine-tuning: sets (and schedules) the replay weight of a ``ReplayMixture`` sampler."""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback

from factdyn.callbacks.setup_checks import check_at_setup
from factdyn.checks import require


class ReplayMixing(Callback):
    """Drives the ``ReplayMixture`` sampler: the replay weight's schedule over steps, and what was drawn.

    The weight itself has one home, ``data.sampler.replay_weight``; this callback only adds a
    piecewise-constant schedule, installed into the sampler before training (so DataLoader workers,
    resumed runs and DDP ranks all see the same schedule, and the sampler checks its values). Logs
    ``replay/fraction`` (fraction of the step's sequences that were replayed, this rank),
    ``replay/expected_fraction`` and ``replay/weight``.

    Args:
        schedule: ``{step: weight}``: the weight from that step on (e.g. ``{1000: 0.25}``); before the first
            step listed the weight is ``data.sampler.replay_weight``.
    """

    def __init__(self, schedule: dict[int, float] | None = None) -> None:
        self.schedule = dict(schedule or {})
        self._sampler: Any = None

    def check_setup(self, stage: str, datamodule: Any, pl_module: Any, callbacks: Any) -> None:
        """A ``ReplayMixture`` sampler to drive."""
        sampler = getattr(datamodule, "sampler", None)
        require(
            all(callable(getattr(sampler, m, None)) for m in ("set_schedule", "is_replayed")),
            "data.sampler",
            "ReplayMixture (with data.train_roles: [new, train]) for ReplayMixing",
            type(sampler).__name__,
        )

    def metric_names(self, datamodule: Any) -> list[str]:
        """What this callback logs: ``replay/{fraction,expected_fraction,weight}``."""
        return ["replay/fraction", "replay/expected_fraction", "replay/weight"]

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        check_at_setup(self, trainer, pl_module, stage)
        sampler = trainer.datamodule.sampler
        self._sampler = sampler
        sampler.set_schedule(sorted(self.schedule.items()))

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        individuals = batch["individual"].cpu().numpy()
        step = trainer.global_step - 1  # the step whose batch this was
        bsz = len(individuals)
        pl_module.log("replay/fraction", float(self._sampler.is_replayed(individuals).mean()), batch_size=bsz)
        pl_module.log("replay/expected_fraction", self._sampler.replay_fraction(step), batch_size=bsz)
        pl_module.log("replay/weight", self._sampler.weight_at(step), batch_size=bsz)
