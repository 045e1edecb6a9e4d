"""AdaptiveWarmUp: train on a subset of individuals until its plateau ends, then on everyone.

The paper's warm-up (§3, spec §5.1) switches after a fixed number of epochs. This variant switches on an
event, the end of the subset's plateau, signalled by :class:`~factdyn.callbacks.AdaptiveWarmUpSwitch`
through :meth:`AdaptiveWarmUp.switch`. The switch step is part of ``state_dict`` (stored in checkpoints by
the DataModule), so a resumed run draws exactly the stream of an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from factdyn.checks import require, require_at_most_n, require_int
from factdyn.data.samplers.base import IndividualSampler


class AdaptiveWarmUp(IndividualSampler):
    """Uniform on a seeded random subset of ``warmup_individuals`` until switched, then uniform on all.

    Args:
        warmup_individuals: size of the warm-up subset (must be in [1, N]).
        seed_offset: combined with the data seed to draw the subset, ``rng([seed, seed_offset])``.
        max_warmup_steps: switch at this step at the latest, even if no plateau end was signalled
            (``None``: wait for the signal forever).

    The DataLoader must run in the training process (``data.num_workers: 0``): a worker process would
    hold a copy of the sampler that never learns about the switch. The callback checks this.
    """

    def __init__(
        self, warmup_individuals: int, seed_offset: int = 1, max_warmup_steps: int | None = None
    ) -> None:
        super().__init__()
        require_int("data.sampler.warmup_individuals", warmup_individuals, 1)
        require_int("data.sampler.max_warmup_steps", max_warmup_steps, 0, allow_none=True)
        self.warmup_individuals = warmup_individuals
        self.seed_offset = seed_offset
        self.max_warmup_steps = max_warmup_steps
        self.switch_step: int | None = None
        self.subset = np.zeros(0, dtype=np.int64)
        self._last_sampled_step = -1
        self._warmup_p: np.ndarray | None = None

    def bind(
        self, n_individuals: int, batch_size: int, seed: int, roles: Sequence[tuple[str, int]] | None = None
    ) -> None:
        super().bind(n_individuals, batch_size, seed, roles)
        require_at_most_n("data.sampler.warmup_individuals", self.warmup_individuals, n_individuals)
        rng = np.random.default_rng([seed, self.seed_offset])
        self.subset = np.sort(rng.choice(n_individuals, size=self.warmup_individuals, replace=False))
        self._warmup_p = np.zeros(n_individuals)
        self._warmup_p[self.subset] = 1.0

    def in_warmup(self, step: int) -> bool:
        end = self.switch_step
        if self.max_warmup_steps is not None:
            end = self.max_warmup_steps if end is None else min(end, self.max_warmup_steps)
        return end is None or step < end

    def probabilities(self, step: int) -> np.ndarray | None:
        return self._warmup_p if self.in_warmup(step) else None

    def phase_key(self, step: int) -> Any:
        return "warmup" if self.in_warmup(step) else "all"

    def sample(self, step: int, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        self._last_sampled_step = max(self._last_sampled_step, step)
        return super().sample(step, batch_size, rng)

    def buckets(self) -> np.ndarray:
        """0 for the warm-up subset, 1 for the others (as :class:`~factdyn.data.WarmUp`)."""
        return self._subset_buckets(self.subset)

    @property
    def switched(self) -> bool:
        return self.switch_step is not None

    def switch(self, step: int) -> int:
        """End the warm-up from ``step`` on (or later, if batches up to it were already drawn); idempotent.

        Batches already drawn (the training loop fetches one step ahead) keep the warm-up distribution, and
        the recorded switch step says so, so a resumed run replays them identically. Returns the switch step.
        """
        if self.switch_step is None:
            self.switch_step = max(int(step), self._last_sampled_step + 1)
            self._cdf_cache = None
        return self.switch_step

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "warmup_individuals": self.warmup_individuals,
            "seed_offset": self.seed_offset,
            "max_warmup_steps": self.max_warmup_steps,
            "switch_step": self.switch_step,
        }

    def state_dict(self) -> dict[str, Any]:
        return {"switch_step": self.switch_step, "warmup_individuals": self.warmup_individuals}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        saved = state.get("warmup_individuals", self.warmup_individuals)
        require(
            saved == self.warmup_individuals,
            "data.sampler.warmup_individuals",
            f"{saved}, the value the checkpoint's AdaptiveWarmUp used",
            self.warmup_individuals,
        )
        self.switch_step = state.get("switch_step")
