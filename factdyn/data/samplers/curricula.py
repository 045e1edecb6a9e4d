"""Curricula: distributions over individuals that change with the training step (paper App. B.2, F.5)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from factdyn.checks import require, require_at_most_n, require_int, require_number
from factdyn.data.samplers.base import IndividualSampler


class WarmUp(IndividualSampler):
    """Uniform over a seeded subset of ``warmup_individuals`` for ``warmup_epochs`` epochs, then over all.

    One epoch is N / batch_size steps of the whole population (paper App. B.2), so the switch happens at step
    ``round(warmup_epochs * N / batch_size)``. Sampling is uniform within each phase. The paper uses whole
    epochs; fractional ones are allowed (the CPU scale needs them).

    Args:
        warmup_individuals: size of the warm-up subset (paper best at N = 64k: 8k).
        warmup_epochs: length of the warm-up in epochs of the whole population (paper best at 64k: 3, i.e.
            1.5k steps).
    """

    SALT = 1_003

    def __init__(self, warmup_individuals: int = 8_000, warmup_epochs: float = 3.0) -> None:
        super().__init__()
        require_int("data.sampler.warmup_individuals", warmup_individuals, 1)
        require_number("data.sampler.warmup_epochs", warmup_epochs, 0)
        self.warmup_individuals = warmup_individuals
        self.warmup_epochs = float(warmup_epochs)
        self.subset = np.empty(0, dtype=np.int64)

    def bind(
        self, n_individuals: int, batch_size: int, seed: int, roles: Sequence[tuple[str, int]] | None = None
    ) -> None:
        super().bind(n_individuals, batch_size, seed, roles)
        require_at_most_n("data.sampler.warmup_individuals", self.warmup_individuals, n_individuals)
        self.subset = self._seeded_subset(self.SALT, self.warmup_individuals)

    def warmup_steps(self) -> int:
        """Training steps spent on the subset."""
        return self.epochs_to_steps(self.warmup_epochs)

    def in_warmup(self, step: int) -> bool:
        return step < self.warmup_steps()

    def phase_key(self, step: int) -> bool:
        return self.in_warmup(step)

    def probabilities(self, step: int) -> np.ndarray | None:
        if not self.in_warmup(step):
            return None
        p = np.zeros(self.n_individuals)
        p[self.subset] = 1.0 / len(self.subset)
        return p

    def sample(self, step: int, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        if self.in_warmup(step):
            return self.subset[rng.integers(0, len(self.subset), size=batch_size)]
        return rng.integers(0, self.n_individuals, size=batch_size)

    def buckets(self) -> np.ndarray:
        """0 for the warm-up subset, 1 for the others."""
        return self._subset_buckets(self.subset)

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "warmup_individuals": self.warmup_individuals,
            "warmup_epochs": self.warmup_epochs,
            "warmup_steps": self.warmup_steps(),
        }


class SequentialGroups(IndividualSampler):
    """The population split into ``n_groups`` groups visited in order, ``n_repeats`` times (paper App. F.5).

    Groups are contiguous index ranges (individual ids are already random). Sampling is uniform within the
    current group. Alternating groups (Fig. V) are ``n_groups=2, n_repeats=2..8``. After the last visit the
    sampler stays on the last group.

    Args:
        n_groups: number of groups (paper: 4, 8, 16; 32 in Fig. U; 2 for alternating).
        n_repeats: passes over all groups (paper: 1 for sequential; 2, 4, 8 loops for alternating).
        steps_per_group: steps spent on a group per visit; ``None`` splits ``trainer.max_steps`` evenly
            (max_steps // (n_groups * n_repeats)), as in the paper (64k, 16k steps, 4 groups: 4k per group).
    """

    def __init__(self, n_groups: int = 4, n_repeats: int = 1, steps_per_group: int | None = None) -> None:
        super().__init__()
        require_int("data.sampler.n_groups", n_groups, 1)
        require_int("data.sampler.n_repeats", n_repeats, 1)
        if steps_per_group is not None:
            require_int("data.sampler.steps_per_group", steps_per_group, 1)
        self.n_groups = n_groups
        self.n_repeats = n_repeats
        self.steps_per_group = steps_per_group
        self.bounds = np.zeros(1, dtype=np.int64)

    def bind(
        self, n_individuals: int, batch_size: int, seed: int, roles: Sequence[tuple[str, int]] | None = None
    ) -> None:
        super().bind(n_individuals, batch_size, seed, roles)
        require_at_most_n("data.sampler.n_groups", self.n_groups, n_individuals)
        self.bounds = np.linspace(0, n_individuals, self.n_groups + 1).round().astype(np.int64)

    def set_horizon(self, max_steps: int) -> None:
        if self.steps_per_group is not None:
            return
        visits = self.n_groups * self.n_repeats
        require(
            max_steps >= visits,
            "trainer.max_steps",
            f"at least data.sampler.n_groups * n_repeats = {visits} (data.sampler.steps_per_group is null, "
            "so the steps are split between the groups)",
            max_steps,
        )
        self.steps_per_group = max_steps // visits

    def group_at(self, step: int) -> int:
        if self.steps_per_group is None:
            raise RuntimeError(
                "SequentialGroups needs data.sampler.steps_per_group, or trainer.max_steps to derive it"
            )
        visit = min(step // self.steps_per_group, self.n_groups * self.n_repeats - 1)
        return visit % self.n_groups

    def phase_key(self, step: int) -> int:
        return self.group_at(step)

    def probabilities(self, step: int) -> np.ndarray:
        g = self.group_at(step)
        p = np.zeros(self.n_individuals)
        p[self.bounds[g] : self.bounds[g + 1]] = 1.0 / (self.bounds[g + 1] - self.bounds[g])
        return p

    def sample(self, step: int, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        g = self.group_at(step)
        return rng.integers(self.bounds[g], self.bounds[g + 1], size=batch_size)

    def buckets(self) -> np.ndarray:
        """The group index of each individual."""
        return np.searchsorted(self.bounds, np.arange(self.n_individuals), side="right") - 1

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "n_groups": self.n_groups,
            "n_repeats": self.n_repeats,
            "steps_per_group": self.steps_per_group,
            "group_bounds": self.bounds.tolist(),
        }
