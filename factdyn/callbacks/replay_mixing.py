"""Replay mixing for fine-tuning: sets (and schedules) the replay weight of a ``ReplayMixture`` sampler."""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback


class ReplayMixing(Callback):
    """Drives the ``ReplayMixture`` sampler: replay weight, its schedule over steps, and what was drawn.

    The weight is a piecewise-constant function of the step installed into the sampler before training (so
    DataLoader workers, resumed runs and DDP ranks all see the same schedule); it is not changed while the
    stream runs. Logs ``replay/fraction`` (fraction of the step's sequences that were replayed, this rank),
    ``replay/expected_fraction`` and ``replay/weight``.

    Args:
        replay_weight: weight of each replayed individual relative to a new one (paper: 2 ... 1/32);
            ``None`` keeps ``data.sampler.replay_weight``.
        schedule: ``{step: weight}``: the weight from that step on (e.g. ``{0: 1.0, 1000: 0.25}``).
    """

    def __init__(self, replay_weight: float | None = None, schedule: dict[int, float] | None = None) -> None:
        if replay_weight is not None and (not isinstance(replay_weight, (int, float)) or replay_weight < 0):
            raise ValueError(
                f"ReplayMixing.replay_weight must be a number >= 0 or null, got {replay_weight!r}"
            )
        for step, weight in (schedule or {}).items():
            if not isinstance(step, int) or step < 0:
                raise ValueError(f"ReplayMixing.schedule keys must be steps >= 0, got {step!r}")
            if not isinstance(weight, (int, float)) or weight < 0:
                raise ValueError(f"ReplayMixing.schedule weights must be numbers >= 0, got {weight!r}")
        self.replay_weight = replay_weight
        self.schedule = dict(schedule or {})
        self._sampler: Any = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        sampler = getattr(trainer.datamodule, "sampler", None)
        if not all(callable(getattr(sampler, m, None)) for m in ("set_schedule", "is_replayed")):
            raise ValueError(
                "ReplayMixing needs data.sampler: ReplayMixture (with data.train_roles: [new, train]), got "
                f"{type(sampler).__name__}"
            )
        self._sampler = sampler
        if self.replay_weight is not None:
            sampler.replay_weight = float(self.replay_weight)
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
