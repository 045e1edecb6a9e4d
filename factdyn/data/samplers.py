"""Individual samplers: which individuals the next training batch is about.

A sampler is bound to a population size and batch size by the DataModule, then asked for the individuals of
training step ``step`` with a random generator seeded from ``(seed, step, rank)``. Because the draw is a
function of the step, a resumed run replays exactly the stream of an uninterrupted one, and DDP ranks draw
independent streams. Samplers whose distribution changes on an event (not a step) keep that in
``state_dict``, which the DataModule stores in checkpoints.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class IndividualSampler:
    """Base class: a distribution over individuals ``0..N-1`` that may change with the training step.

    Subclasses override :meth:`probabilities` (return ``None`` for uniform) and, when they keep state,
    :meth:`state_dict` / :meth:`load_state_dict`.
    """

    def __init__(self) -> None:
        self.n_individuals = 0
        self.batch_size = 1
        self.seed = 0
        self._cdf_cache: tuple[Any, np.ndarray] | None = None

    def bind(self, n_individuals: int, batch_size: int, seed: int) -> None:
        """Attach to a population; subclasses validate their arguments against it here."""
        self.n_individuals = n_individuals
        self.batch_size = batch_size
        self.seed = seed
        self._cdf_cache = None

    def steps_per_epoch(self) -> int:
        """One epoch is N / batch_size steps (as many biographies as individuals), as in the paper."""
        return max(1, round(self.n_individuals / self.batch_size))

    def probabilities(self, step: int) -> np.ndarray | None:
        """Probability of each individual at ``step``; ``None`` means uniform."""
        return None

    def phase_key(self, step: int) -> Any:
        """A key that changes exactly when :meth:`probabilities` does (lets the CDF be cached)."""
        return None

    def sample(self, step: int, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        key = self.phase_key(step)
        if self._cdf_cache is None or self._cdf_cache[0] != key:
            p = self.probabilities(step)
            self._cdf_cache = (key, None if p is None else np.cumsum(p / p.sum()))
        cdf = self._cdf_cache[1]
        if cdf is None:
            return rng.integers(0, self.n_individuals, size=batch_size)
        idx = np.searchsorted(cdf, rng.random(batch_size) * cdf[-1], side="right")
        return np.minimum(idx, self.n_individuals - 1)

    def describe(self) -> dict[str, Any]:
        """What to record about this sampler in the run directory."""
        return {"sampler": type(self).__name__}

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._cdf_cache = None


class Uniform(IndividualSampler):
    """Every individual equally likely (the paper's default)."""
