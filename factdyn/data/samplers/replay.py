"""Fine-tuning with replay: new individuals mixed with replayed pre-training ones (paper App. F.1)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from factdyn.checks import require, require_int, require_number
from factdyn.data.samplers.base import IndividualSampler


class ReplayMixture(IndividualSampler):
    """Fine-tuning with replay: new individuals with weight 1, previously trained ones with ``replay_weight``.

    The index space is the concatenation of ``data.train_roles`` in order (e.g. ``[new, train]``): the first
    role's individuals are the new ones, all later roles are replayed (paper App. F.1, "celebrities" scheme
    with every pre-training individual at weight ``weight_replay_finetune``). The ratio is explicit:
    :meth:`replay_fraction` is the expected fraction of replayed sequences. The weight may follow a
    piecewise-constant schedule over steps (set by the ``ReplayMixing`` callback), stored in checkpoints.

    Args:
        replay_weight: weight of each replayed individual relative to a new one (paper: 2 ... 1/32; 0 turns
            replay off).
    """

    def __init__(self, replay_weight: float = 1.0) -> None:
        super().__init__()
        require_number("data.sampler.replay_weight", replay_weight, 0)
        self.replay_weight = float(replay_weight)
        self.schedule: list[tuple[int, float]] = []
        self.n_new = 0

    def bind(
        self, n_individuals: int, batch_size: int, seed: int, roles: Sequence[tuple[str, int]] | None = None
    ) -> None:
        super().bind(n_individuals, batch_size, seed, roles)
        require(
            len(self.roles) >= 2 and self.roles[0][1] > 0,
            "data.train_roles",
            "the new individuals first, then at least one replayed role (e.g. [new, train], with "
            "data.n_new > 0) for data.sampler ReplayMixture",
            [list(r) for r in self.roles],
        )
        self.n_new = self.roles[0][1]

    def set_schedule(self, schedule: Sequence[tuple[int, float]]) -> None:
        """Replay weight from each ``step`` on (before the first entry: ``replay_weight``)."""
        for s, w in schedule:
            require_int("ReplayMixing.schedule step", s, 0)
            require_number("ReplayMixing.schedule weight", w, 0)
        self.schedule = sorted((int(s), float(w)) for s, w in schedule)
        self._cdf_cache = None

    def weight_at(self, step: int) -> float:
        weight = self.replay_weight
        for s, w in self.schedule:
            if step >= s:
                weight = w
        return weight

    def replay_fraction(self, step: int = 0) -> float:
        """Expected fraction of sampled sequences that are replayed (not new) at ``step``."""
        w = self.weight_at(step) * (self.n_individuals - self.n_new)
        return w / (w + self.n_new)

    def phase_key(self, step: int) -> float:
        return self.weight_at(step)

    def probabilities(self, step: int) -> np.ndarray:
        w = np.full(self.n_individuals, self.weight_at(step))
        w[: self.n_new] = 1.0
        return w / w.sum()

    def sample(self, step: int, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        # Two-stage draw (replayed or new, then uniform within) is exact and O(batch), whatever N is.
        replayed = rng.random(batch_size) < self.replay_fraction(step)
        new = rng.integers(0, self.n_new, size=batch_size)
        old = rng.integers(self.n_new, self.n_individuals, size=batch_size)
        return np.where(replayed, old, new)

    def is_replayed(self, individuals: np.ndarray) -> np.ndarray:
        return np.asarray(individuals) >= self.n_new

    def buckets(self) -> np.ndarray:
        """0 for new individuals, 1 for replayed ones."""
        return (np.arange(self.n_individuals) >= self.n_new).astype(np.int64)

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "replay_weight": self.replay_weight,
            "schedule": [list(p) for p in self.schedule],
            "n_new": self.n_new,
            "replay_fraction_at_start": self.replay_fraction(0),
        }

    def state_dict(self) -> dict[str, Any]:
        return {"replay_weight": self.replay_weight, "schedule": [list(p) for p in self.schedule]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.replay_weight = float(state.get("replay_weight", self.replay_weight))
        self.set_schedule([tuple(p) for p in state.get("schedule", [])])
